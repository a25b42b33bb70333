# language: fr
@serveur @agregation @regulateurs @recette @preproduction @production
Fonctionnalité: Validité et profil AUTH_CLI du certificat client
  Le certificat de SAS est un certificat IGC Santé AUTH_CLI en cours de validité. Chaque certificat
  ci-dessous ne diffère du certificat valide de SAS que par un seul défaut.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  @SRV-VALIDITE @SRV-VALIDITE-01 @bloquant
  Plan du scénario: Un certificat hors de sa période de validité est refusé
    Soit la plateforme SAS présente un certificat « <défaut> »
    Quand elle appelle le flux
    Alors l'appel est refusé

    Exemples:
      | défaut            |
      | expire            |
      | pas-encore-valide |

  @REC-PROFIL @REC-PROFIL-01 @recommande
  Plan du scénario: Un certificat qui n'a pas le profil AUTH_CLI est refusé
    Soit la plateforme SAS présente un certificat « <défaut> »
    Quand elle appelle le flux
    Alors l'appel est refusé

    Exemples:
      | défaut                   |
      | eku-serveur              |
      | sans-signature-numerique |
      | feuille-ca               |
      | signe-par-feuille        |

  @REC-CRYPTO @REC-CRYPTO-01 @recommande
  Plan du scénario: Un certificat à la cryptographie faible est refusé
    Soit la plateforme SAS présente un certificat « <défaut> »
    Quand elle appelle le flux
    Alors l'appel est refusé

    Exemples:
      | défaut   |
      | rsa-1024 |
      | sha1     |
