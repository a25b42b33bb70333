# language: fr
@serveur @igc @agregation @recette @preproduction @production
Fonctionnalité: Serveur réel : l'éditeur fait confiance à la vraie chaîne IGC Santé
  Sur un environnement réel, seul SAS détient la clé de son certificat : le contrôle positif ne peut pas
  être un appel accepté. Les certificats authentiques dont dispose l'éditeur ne portent jamais le sujet de
  SAS : un refus de la hiérarchie ou de la révocation n'est donc retenu que s'il vient de la vérification
  de la chaîne (alerte TLS, ou réponse HTTP de vérification de certificat), pas du contrôle du sujet.
  Le contrôle positif est remplacé par un contrôle d'accessibilité : le serveur répond en TLS, demande un
  certificat client et annonce l'autorité intermédiaire IGC Santé de l'environnement. Un refus n'est
  retenu qu'après ce contrôle, sur la même cible, pendant la même exécution.

  Contexte:
    Soit le serveur réel de l'éditeur qui répond à l'environnement ANS

  @SRV-MTLS @SRV-MTLS-04 @bloquant
  Scénario: Le serveur répond en TLS et demande un certificat client
    Quand la plateforme SAS ouvre une connexion sans certificat
    Alors le serveur demande un certificat client

  @SRV-HIERARCHIE @SRV-HIERARCHIE-02 @bloquant
  Scénario: Le serveur annonce l'autorité IGC Santé de l'environnement, et aucune de l'autre hiérarchie
    Quand la plateforme SAS ouvre une connexion sans certificat
    Alors les autorités annoncées comprennent l'intermédiaire IGC Santé de l'environnement
    Et aucune autorité de l'autre hiérarchie n'est annoncée

  @SRV-CN @SRV-CN-02 @bloquant
  Scénario: Le certificat IGC Santé authentique de l'éditeur, qui n'est pas celui de SAS, est refusé
    Soit la plateforme SAS présente le certificat IGC Santé authentique de l'éditeur
    Quand elle appelle le flux
    Alors l'appel est refusé

  @SRV-AC-IGC @SRV-AC-IGC-02 @bloquant
  Plan du scénario: Un certificat forgé au sujet exact de SAS est refusé
    Soit la plateforme SAS présente un certificat « <défaut> »
    Quand elle appelle le flux
    Alors l'appel est refusé

    Exemples:
      | défaut       |
      | auto-signe   |
      | ac-imposteur |

  @SRV-HIERARCHIE @SRV-HIERARCHIE-03 @bloquant
  Scénario: Un certificat IGC Santé de l'autre hiérarchie est refusé
    Soit la plateforme SAS présente un certificat IGC Santé authentique de l'autre hiérarchie
    Quand elle appelle le flux
    Alors l'appel est refusé dès la vérification de la chaîne

  @SRV-MTLS @SRV-MTLS-05 @bloquant
  Scénario: Un appel sans certificat client est refusé par le serveur réel
    Soit la plateforme SAS ne présente aucun certificat
    Quand elle appelle le flux
    Alors l'appel est refusé

  @SRV-TLS @SRV-TLS-03 @bloquant
  Plan du scénario: Une version de TLS antérieure à 1.2 est refusée par le serveur réel
    Soit la plateforme SAS présente le certificat IGC Santé authentique de l'éditeur
    Et la plateforme SAS ne propose que <version>
    Quand elle appelle le flux
    Alors la version <version> est refusée pendant la poignée de main

    Exemples:
      | version |
      | TLS 1.0 |
      | TLS 1.1 |

  @SRV-REVOCATION @SRV-REVOCATION-02 @bloquant
  Scénario: Un certificat IGC Santé de test révoqué est refusé
    Soit la plateforme SAS présente un certificat IGC Santé révoqué
    Quand elle appelle le flux
    Alors l'appel est refusé dès la vérification de la chaîne

  @SRV-CERT-SERVEUR @SRV-CERT-SERVEUR-01 @bloquant
  Scénario: Le certificat serveur de l'éditeur est valide, au bon nom et servi avec sa chaîne
    Quand la plateforme SAS ouvre une connexion sans certificat
    Alors le certificat serveur de l'éditeur est valide pour son nom d'hôte et servi avec sa chaîne

  @REC-EXPIRATION @REC-EXPIRATION-01 @recommande
  Scénario: Le certificat serveur de l'éditeur n'expire pas dans les 30 jours
    Quand la plateforme SAS ouvre une connexion sans certificat
    Alors le certificat serveur de l'éditeur expire dans plus de 30 jours
