# language: fr
@client @live @recette @preproduction @production
Fonctionnalité: La plateforme SAS réelle accepte le certificat de l'éditeur
  Avec le certificat IGC Santé de l'éditeur, la poignée de main mTLS avec la plateforme SAS réelle de
  l'environnement aboutit et la réponse n'est pas un refus de certificat. Sans certificat d'éditeur
  configuré, ou sans route vers la plateforme, la vérification est ignorée avec sa raison : jamais réussie,
  jamais échouée.

  @CLI-LIVE @CLI-LIVE-01 @bloquant
  Scénario: La plateforme SAS réelle ne refuse pas le certificat de l'éditeur
    Soit le certificat IGC Santé de l'éditeur pour l'environnement ANS
    Quand le logiciel de l'éditeur se présente à la plateforme SAS réelle
    Alors la plateforme SAS ne refuse pas son certificat
