# language: fr
@serveur @agregation @regulateurs @recette @preproduction @production
Fonctionnalité: Versions de TLS acceptées par le serveur de l'éditeur
  SAS appelle en TLS 1.2. Une version antérieure est refusée pendant la poignée de main : le refus ne
  compte que si la sonde prouve, par son propre ClientHello, qu'elle a réellement proposé cette version
  (une sonde incapable de la proposer n'obtient pas de refus, elle échoue), et une poignée de main qui
  aboutit dans cette version avant un refus HTTP n'est pas un refus.

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
    Alors la version <version> est refusée pendant la poignée de main

    Exemples:
      | version |
      | TLS 1.0 |
      | TLS 1.1 |

  @REC-SSL3 @REC-SSL3-01 @recommande
  Scénario: SSL 3.0 est refusé
    OpenSSL ne sait plus proposer SSL 3.0 : une sonde TLS écrite en Python (tlslite-ng) le propose, et
    son ClientHello sert de preuve comme pour TLS 1.0.
    Soit la plateforme SAS ne propose que SSL 3.0
    Quand elle appelle le flux
    Alors la version SSL 3.0 est refusée pendant la poignée de main

  @REC-TLS13 @REC-TLS13-01 @recommande
  Scénario: TLS 1.3 est disponible
    Soit la plateforme SAS ne propose que TLS 1.3
    Quand elle appelle le flux
    Alors l'appel est accepté avec une réponse FHIR
