# language: fr
@client @creation_rdv @maj_rdv @recette @preproduction @production
Fonctionnalité: Le logiciel de l'éditeur appelle la plateforme SAS en TLS 1.2 ou plus, sous son nom
  Les appels vers la plateforme SAS sont des appels HTTPS classiques (TLS 1.2) avec un certificat client.
  Le nom de la plateforme SAS est annoncé dès la poignée de main (SNI), comme un frontal HTTPS l'attend.

  Contexte:
    Soit le logiciel de l'éditeur, client de la plateforme SAS de l'environnement ANS
    Et le logiciel a créé puis mis à jour un rendez-vous auprès d'une plateforme SAS simulée normale

  @CLI-TLS @CLI-TLS-01 @bloquant
  Scénario: La connexion est établie en TLS 1.2 ou plus récent
    Alors chaque requête du flux est reçue en TLS 1.2 ou plus récent

  @CLI-SNI @CLI-SNI-01 @bloquant
  Scénario: Le nom de la plateforme SAS est annoncé
    Alors chaque requête du flux annonce le nom de la plateforme SAS
