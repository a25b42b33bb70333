# language: fr
@serveur @agregation @regulateurs @recette @preproduction @production
Fonctionnalité: Un certificat révoqué est refusé
  L'IGC Santé publie ses CRL chaque matin et répond en OCSP à la demande. Le serveur de l'éditeur
  vérifie l'une ou l'autre ; l'OCSP seul connaît une révocation postérieure à la dernière CRL.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  @SRV-REVOCATION @SRV-REVOCATION-01 @bloquant
  Scénario: Un certificat révoqué dans la CRL et pour l'OCSP est refusé
    Soit la plateforme SAS présente un certificat « revoque »
    Quand elle appelle le flux
    Alors l'appel est refusé

  @REC-OCSP @REC-OCSP-01 @recommande
  Scénario: Un certificat révoqué depuis la dernière CRL est refusé
    Soit la plateforme SAS présente un certificat « revoque-ocsp »
    Quand elle appelle le flux
    Alors l'appel est refusé
