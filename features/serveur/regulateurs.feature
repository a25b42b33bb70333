# language: fr
@serveur @regulateurs @recette @preproduction @production
Fonctionnalité: Gestion des comptes régulateurs
  SAS crée puis met à jour les comptes des régulateurs chez l'éditeur, avec le même certificat.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS
    Et la plateforme SAS présente son certificat valide avec l'autorité intermédiaire

  @SRV-MTLS @SRV-MTLS-03 @bloquant
  Scénario: SAS met à jour un compte régulateur par son identifiant
    Quand elle met à jour un compte régulateur par son identifiant
    Alors l'appel est accepté avec une réponse FHIR
