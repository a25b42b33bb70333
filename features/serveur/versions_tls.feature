# language: fr
@serveur @agregation @regulateurs @recette @preproduction @production
Fonctionnalité: Versions de TLS acceptées par le serveur de l'éditeur
  SAS appelle en TLS 1.2. Les versions antérieures sont refusées ; la sonde prouve qu'elle a réellement
  proposé la version refusée (une sonde incapable de la proposer n'obtient pas de refus, elle échoue).

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS
    Et la plateforme SAS présente son certificat valide avec l'autorité intermédiaire

  @SRV-TLS @SRV-TLS-01 @bloquant
  Scénario: TLS 1.2 est accepté
    Soit la plateforme SAS ne propose que TLS 1.2
    Quand elle appelle le flux
    Alors l'appel est accepté avec une réponse FHIR

  @SRV-TLS @SRV-TLS-02 @bloquant
  Plan du scénario: Une version de TLS antérieure à 1.2 est refusée
    Soit la plateforme SAS ne propose que <version>
    Quand elle appelle le flux
    Alors l'appel est refusé
    Et la sonde a réellement proposé <version>
    Et la poignée de main en <version> n'a pas abouti

    Exemples:
      | version |
      | TLS 1.0 |
      | TLS 1.1 |

  @REC-SSL3 @REC-SSL3-01 @recommande
  Scénario: SSL 3.0 est refusé
    Soit la plateforme SAS ne propose que SSL 3.0
    Quand elle appelle le flux
    Alors l'appel est refusé, ou la sonde dit pourquoi SSL 3.0 n'est pas testable

  @REC-TLS13 @REC-TLS13-01 @recommande
  Scénario: TLS 1.3 est disponible
    Soit la plateforme SAS ne propose que TLS 1.3
    Quand elle appelle le flux
    Alors l'appel est accepté avec une réponse FHIR
