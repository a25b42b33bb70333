# language: fr
@serveur @agregation @recette @preproduction @production
Fonctionnalité: Quand la publication des révocations est en panne, un certificat révoqué reste refusé
  L'IGC Santé republie ses CRL chaque matin et répond en OCSP à la demande ; la spécification admet,
  quand les CRL ne peuvent pas être mises à jour, « un mécanisme de débrayage ». Pour chaque panne de
  la publication, le rapport dit ce que le serveur a fait (refuser tout le monde, refuser seulement le
  certificat révoqué, ou tout accepter) et s'il a interrogé l'OCSP ou téléchargé une CRL. Laisser
  entrer le certificat révoqué est un avertissement : le débrayage doit rester une exception visible.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  @REC-REVOCATION-PANNE @REC-REVOCATION-PANNE-01 @recommande
  Plan du scénario: Un certificat révoqué reste refusé pendant une panne de la publication des révocations
    Soit la publication des révocations de l'IGC Santé tombe en panne : « <panne> »
    Quand la plateforme SAS appelle le flux avec son certificat valide puis avec un certificat révoqué
    Alors le certificat révoqué reste refusé

    Exemples:
      | panne                   |
      | crl-perimee             |
      | crl-injoignable         |
      | ocsp-hors-service       |
      | ocsp-plus-tard          |
      | ocsp-non-autorise       |
      | ocsp-signataire-inconnu |
      | ocsp-perime             |
