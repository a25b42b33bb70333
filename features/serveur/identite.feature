# language: fr
@serveur @agregation @regulateurs @recette @preproduction @production
Fonctionnalité: Le CN et l'OU du certificat sont ceux de SAS pour l'environnement
  Derrière une chaîne IGC Santé valide, l'application de l'éditeur vérifie que le sujet est exactement
  celui de SAS pour l'environnement (CN et OU), tel que la couche TLS l'a vérifié.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  Plan du scénario: Un certificat IGC Santé qui n'est pas celui de SAS est refusé
    Soit la plateforme SAS présente un certificat « <défaut> »
    Quand elle appelle le flux
    Alors l'appel est refusé

    @SRV-CN @SRV-CN-01 @bloquant
    Exemples: CN
      | défaut       |
      | mauvais-cn   |
      | cn-prefixe   |
      | cn-suffixe   |
      | deux-cn      |
      | nom-dans-san |

    @SRV-OU @SRV-OU-01 @bloquant
    Exemples: OU
      | défaut     |
      | mauvais-ou |

    @REC-CN-CASSE @REC-CN-CASSE-01 @recommande
    Exemples: casse et espaces
      | défaut          |
      | cn-casse        |
      | cn-espace-debut |
      | cn-espace-fin   |

    @SRV-OU @SRV-OU-02 @bloquant
    Exemples: OU qui contient celle de SAS, ou plusieurs OU
      | défaut      |
      | ou-contient |
      | ou-prefixe  |
      | ou-suffixe  |
      | deux-ou     |

    @REC-OU-ESPACE @REC-OU-ESPACE-01 @recommande
    Exemples: OU entourée d'espaces
      | défaut          |
      | ou-espace-debut |
      | ou-espace-fin   |

    @REC-SUJET-EXACT @REC-SUJET-EXACT-01 @recommande
    Exemples: bons CN et OU dans un autre sujet
      | défaut    |
      | mauvais-o |
      | ordre-rdn |

  @SRV-CORRESPONDANCE @SRV-CORRESPONDANCE-01 @bloquant @correspondance_separee
  Scénario: Le certificat SAS d'un autre environnement ANS est refusé
    Un environnement de l'éditeur n'accepte que le sujet SAS des environnements ANS qu'il sert. Ce
    scénario n'existe que là où l'environnement de l'éditeur qui répond ne sert pas l'autre environnement
    ANS : partout en correspondance un pour un, pour la production en correspondance simplifiée.
    Ailleurs, le scénario suivant exige au contraire que ce certificat soit accepté.
    Soit la plateforme SAS présente un certificat « autre-environnement »
    Quand elle appelle le flux
    Alors l'appel est refusé

  @SRV-CORRESPONDANCE @SRV-CORRESPONDANCE-02 @bloquant @correspondance_partagee
  Scénario: Le certificat SAS de l'autre environnement ANS servi par le même environnement de l'éditeur est accepté
    En correspondance simplifiée, la pré-production de l'éditeur répond à la recette et à la
    pré-production ANS : elle doit accepter le sujet SAS de l'une comme de l'autre. Ce scénario n'existe
    que là (appels de la recette et de la pré-production ANS, correspondance simplifiée) ; partout
    ailleurs, le scénario précédent exige un refus.
    Soit la plateforme SAS présente un certificat « autre-environnement »
    Quand elle appelle le flux
    Alors l'appel est accepté avec une réponse FHIR

  @SRV-IDENTITE-TLS @SRV-IDENTITE-TLS-01 @bloquant
  Scénario: Des en-têtes d'identité forgés ne remplacent pas le certificat
    Soit la plateforme SAS présente un certificat « mauvais-cn »
    Et la requête porte des en-têtes d'identité forgés au nom de SAS
    Quand elle appelle le flux
    Alors l'appel est refusé

  @SRV-IDENTITE-TLS @SRV-IDENTITE-TLS-02 @bloquant
  Scénario: Des en-têtes d'identité forgés sans aucun certificat ne remplacent pas le certificat
    Un serveur dont le certificat client est facultatif, derrière un terminateur qui n'écrit les
    en-têtes d'identité que lorsqu'un certificat a été présenté, laisse passer ceux du client.
    Soit la plateforme SAS ne présente aucun certificat
    Et la requête porte des en-têtes d'identité forgés au nom de SAS
    Quand elle appelle le flux
    Alors l'appel est refusé

  @SRV-IDENTITE-TLS @SRV-IDENTITE-TLS-03 @bloquant
  Plan du scénario: Des en-têtes d'identité forgés sous un autre nom ne remplacent pas le certificat
    Un terminateur qui efface « X-SSL-Client-CN » laisse passer « X_SSL_Client_CN », qu'une application
    CGI ou WSGI lit sous le même nom ; un en-tête répété peut être lu à sa première occurrence.
    Soit la plateforme SAS présente un certificat « mauvais-cn »
    Et la requête porte des en-têtes d'identité forgés au nom de SAS, écrits « <forme> »
    Quand elle appelle le flux
    Alors l'appel est refusé

    Exemples:
      | forme      |
      | minuscules |
      | soulignes  |
      | doubles    |
