# language: fr
@serveur @ip @recette @preproduction @production
Fonctionnalité: Filtrage par adresse IP déclaré par l'éditeur
  La spécification publie l'adresse IP sortante de SAS pour chaque environnement ANS. Un éditeur qui filtre
  par IP doit l'autoriser ; la suite signale aussi si le serveur lui a répondu alors que son adresse n'est
  pas dans la liste déclarée.

  Contexte:
    Soit la liste d'adresses autorisées déclarée pour l'environnement éditeur

  @SRV-IP @SRV-IP-01 @bloquant
  Scénario: L'adresse IP sortante de SAS figure dans la liste déclarée
    Alors l'adresse IP sortante de SAS pour l'environnement ANS y figure

  @REC-IP @REC-IP-01 @recommande
  Scénario: Le serveur ne répond pas à une adresse absente de la liste déclarée
    Quand la suite ouvre une connexion TCP vers le serveur de l'éditeur
    Alors le serveur ne répond pas si l'adresse de la suite n'est pas dans la liste
