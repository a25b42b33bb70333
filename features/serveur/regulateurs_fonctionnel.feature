# language: fr
@serveur @fhir @regulateurs @recette @preproduction @production
Fonctionnalité: Gestion des comptes régulateurs, vérifiée sur ce que répond l'éditeur
  SAS crée, met à jour, désactive et réactive chez l'éditeur les comptes des régulateurs (ressources
  FrPractitionerRegul, identifiées par l'identifiant national IDNPS ou par l'identifiant technique SAS).
  Chaque réponse est jugée sur son statut et sa localisation, après le contrôle positif du même flux :
  une réponse qui n'arrive pas n'est ni un succès ni un refus.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS
    Et la plateforme SAS présente son certificat valide avec l'autorité intermédiaire

  @SRV-REGUL-CREATION @SRV-REGUL-CREATION-01 @bloquant
  Scénario: Un compte identifié par son identifiant national est créé
    Quand elle crée un compte régulateur identifié par son identifiant national
    Alors le compte est créé avec sa localisation

  @SRV-REGUL-CREATION @SRV-REGUL-CREATION-02 @bloquant
  Scénario: Un compte identifié par son identifiant technique SAS est créé
    Quand elle crée un compte régulateur identifié par son identifiant technique SAS
    Alors le compte est créé avec sa localisation

  @SRV-REGUL-MAJ @SRV-REGUL-MAJ-01 @bloquant
  Scénario: L'adresse électronique d'un compte est mise à jour par son identifiant national
    Quand elle crée un compte puis change son adresse électronique par son identifiant national
    Alors la mise à jour est acceptée avec sa localisation

  @SRV-REGUL-MAJ @SRV-REGUL-MAJ-02 @bloquant
  Scénario: Les noms d'un compte sont mis à jour par son identifiant technique SAS
    Quand elle crée un compte puis change ses noms par son identifiant technique SAS
    Alors la mise à jour est acceptée avec sa localisation

  @SRV-REGUL-MAJ-CREE @SRV-REGUL-MAJ-CREE-01 @bloquant
  Scénario: La mise à jour d'un compte inconnu le crée
    Quand elle met à jour un compte que l'éditeur ne connaît pas encore
    Alors la mise à jour est acceptée avec sa localisation

  @SRV-REGUL-MAJ-CREE @SRV-REGUL-MAJ-CREE-02 @bloquant
  Scénario: La même mise à jour répétée ne crée rien de plus
    Quand elle envoie deux fois la même mise à jour d'un compte inconnu
    Alors la seconde mise à jour retrouve le compte créé par la première

  @SRV-REGUL-ACTIVATION @SRV-REGUL-ACTIVATION-01 @bloquant
  Scénario: Un compte est désactivé
    Quand elle crée un compte puis le désactive
    Alors la mise à jour est acceptée avec sa localisation

  @SRV-REGUL-ACTIVATION @SRV-REGUL-ACTIVATION-02 @bloquant
  Scénario: Un compte désactivé est réactivé
    Quand elle crée un compte, le désactive puis le réactive
    Alors la mise à jour est acceptée avec sa localisation

  @SRV-REGUL-REATTRIBUTION @SRV-REGUL-REATTRIBUTION-01 @bloquant
  Scénario: Un identifiant national réattribué après désactivation crée le nouveau compte
    Quand elle désactive un compte puis attribue son identifiant national à un nouveau compte
    Alors le compte est créé avec sa localisation

  @SRV-REGUL-DOUBLON @SRV-REGUL-DOUBLON-01 @bloquant
  Scénario: La seconde création d'un même compte est refusée
    Quand elle crée deux fois le même compte
    Alors la seconde création est refusée

  @REC-REGUL-4XX @REC-REGUL-4XX-01 @recommande
  Scénario: La seconde création d'un même compte est refusée comme une erreur de la requête
    Quand elle crée deux fois le même compte
    Alors la seconde création est refusée comme une erreur de la requête

  @SRV-REGUL-REJET @bloquant
  Plan du scénario: Une ressource invalide est refusée avec une OperationOutcome
    Quand elle crée un compte avec « <corps> »
    Alors la création est refusée avec une OperationOutcome

    @SRV-REGUL-REJET-01
    Exemples:
      | corps             |
      | non-json          |
      | autre-ressource   |
      | sans-identifiant  |
      | actif-non-booleen |

  @REC-REGUL-4XX @recommande
  Plan du scénario: Une ressource invalide est refusée par 400 ou 422
    Quand elle crée un compte avec « <corps> »
    Alors la création est refusée par 400 ou 422 avec une OperationOutcome

    @REC-REGUL-4XX-02
    Exemples:
      | corps             |
      | non-json          |
      | autre-ressource   |
      | sans-identifiant  |
      | actif-non-booleen |

  @REC-REGUL-RELECTURE @REC-REGUL-RELECTURE-01 @recommande
  Scénario: Un compte créé se relit tel que SAS l'a envoyé
    Soit l'éditeur permet de relire les comptes régulateurs
    Quand elle crée un compte puis le relit
    Alors le compte relu est celui que SAS a envoyé en dernier

  @REC-REGUL-RELECTURE @REC-REGUL-RELECTURE-02 @recommande
  Scénario: Une adresse électronique changée se relit
    Soit l'éditeur permet de relire les comptes régulateurs
    Quand elle change l'adresse électronique d'un compte puis le relit
    Alors le compte relu est celui que SAS a envoyé en dernier

  @REC-REGUL-RELECTURE @REC-REGUL-RELECTURE-03 @recommande
  Scénario: Un compte désactivé se relit désactivé
    Soit l'éditeur permet de relire les comptes régulateurs
    Quand elle désactive un compte puis le relit
    Alors le compte relu est celui que SAS a envoyé en dernier
