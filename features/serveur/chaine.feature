# language: fr
@serveur @agregation @regulateurs @recette @preproduction @production
Fonctionnalité: La chaîne du certificat client est vérifiée jusqu'à la racine IGC Santé
  Un certificat au sujet exact de SAS, émis sous la bonne racine IGC Santé, n'est accepté que si chaque
  certificat de sa chaîne est valide : dates, révocation, CA:TRUE, keyCertSign, longueur de chemin et
  signatures. Une chaîne valide envoyée dans le désordre, ou avec un certificat en trop, reste acceptable.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  Plan du scénario: Un certificat de SAS dont la chaîne est défectueuse est refusé
    Soit la plateforme SAS présente un certificat « <défaut> »
    Quand elle appelle le flux
    Alors l'appel est refusé

    @SRV-CHAINE-VALIDE @SRV-CHAINE-VALIDE-01 @bloquant
    Exemples: AC intermédiaire
      | défaut                          |
      | intermediaire-expire            |
      | intermediaire-pas-encore-valide |
      | intermediaire-revoque           |
      | intermediaire-non-ca            |
      | intermediaire-sans-keycertsign  |
      | longueur-chemin                 |

    @SRV-CHAINE-VALIDE @SRV-CHAINE-VALIDE-02 @bloquant
    Exemples: signature
      | défaut                     |
      | signature-corrompue        |
      | autre-cle-dn-intermediaire |

    @REC-EXTENSION-CRITIQUE @REC-EXTENSION-CRITIQUE-01 @recommande
    Exemples: extension critique
      | défaut                      |
      | extension-critique-inconnue |

  @REC-CHAINE-TOLERANTE @REC-CHAINE-TOLERANTE-01 @recommande
  Plan du scénario: Le certificat valide de SAS est accepté avec une chaîne dans le désordre ou trop longue
    Soit la plateforme SAS présente un certificat « <défaut> »
    Quand elle appelle le flux
    Alors l'appel est accepté avec une réponse FHIR

    Exemples:
      | défaut                     |
      | chaine-desordre            |
      | chaine-certificat-etranger |
