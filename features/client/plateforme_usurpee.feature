# language: fr
@client @recette @preproduction @production
Fonctionnalité: Le logiciel de l'éditeur ne confie rien à une plateforme qu'il ne peut authentifier
  Le logiciel de l'éditeur vérifie le certificat de la plateforme SAS avant d'envoyer un rendez-vous, et ne
  descend pas sous TLS 1.2. Un refus ne compte que si le même logiciel a bien livré ses requêtes à la
  plateforme simulée normale pendant la même exécution : un logiciel qui n'envoie rien ne « refuse » rien.

  Contexte:
    Soit le logiciel de l'éditeur, client de la plateforme SAS de l'environnement ANS

  Plan du scénario: Une plateforme au certificat serveur invalide ne reçoit aucune requête
    Soit le logiciel a tenté de créer puis de mettre à jour un rendez-vous auprès d'une plateforme SAS simulée dont le certificat serveur est « <anomalie> »
    Alors aucune requête ne parvient à cette plateforme

    @CLI-SERVEUR @CLI-SERVEUR-01 @bloquant
    Exemples: certificat expiré, pour un autre nom, ou non reconnu
      | anomalie    |
      | expire      |
      | mauvais-nom |
      | non-reconnu |

    @CLI-SERVEUR-HIERARCHIE @CLI-SERVEUR-HIERARCHIE-01 @bloquant
    Exemples: certificat émis par l'autre hiérarchie IGC Santé
      | anomalie         |
      | autre-hierarchie |

  @CLI-TLS @CLI-TLS-02 @bloquant
  Scénario: Une plateforme qui ne parle que TLS 1.0 et TLS 1.1 ne reçoit aucune requête
    Soit le logiciel a tenté de créer puis de mettre à jour un rendez-vous auprès d'une plateforme SAS simulée qui ne parle que TLS 1.0 et TLS 1.1
    Alors aucune requête ne parvient à cette plateforme
