# language: fr
@serveur @agregation @regulateurs @recette @preproduction @production
Fonctionnalité: Seuls les certificats de la bonne hiérarchie IGC Santé sont acceptés
  Le terminateur HTTPS de l'éditeur exige un certificat client signé par les autorités IGC Santé de
  l'environnement : TEST pour la recette et la pré-production, production pour la production.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  @SRV-MTLS @SRV-MTLS-02 @bloquant
  Scénario: Un appel sans certificat client est refusé
    Soit la plateforme SAS ne présente aucun certificat
    Quand elle appelle le flux
    Alors l'appel est refusé

  @SRV-AC-IGC @SRV-AC-IGC-01 @bloquant
  Plan du scénario: Un certificat au sujet de SAS qui n'est pas signé par l'IGC Santé est refusé
    Soit la plateforme SAS présente un certificat « <défaut> »
    Quand elle appelle le flux
    Alors l'appel est refusé

    Exemples:
      | défaut       |
      | auto-signe   |
      | ac-imposteur |
      | ac-etrangere |

  @SRV-HIERARCHIE @SRV-HIERARCHIE-01 @bloquant
  Scénario: Le sujet de SAS signé par l'autre hiérarchie IGC Santé est refusé
    Soit la plateforme SAS présente un certificat « autre-hierarchie »
    Quand elle appelle le flux
    Alors l'appel est refusé
