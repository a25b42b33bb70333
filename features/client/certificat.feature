# language: fr
@client @creation_rdv @maj_rdv @recette @preproduction @production
Fonctionnalité: Le logiciel de l'éditeur présente son certificat IGC Santé AUTH_CLI à chaque requête
  La solution logicielle de l'éditeur, cliente de la plateforme SAS, présente lors de chaque requête le
  certificat émis par l'IGC Santé pour l'environnement : un certificat AUTH_CLI de la gamme élémentaire et
  du domaine organisation, émis par ACI-EL-ORG-TEST en recette et en pré-production, par ACI-EL-ORG en
  production.

  Contexte:
    Soit le logiciel de l'éditeur, client de la plateforme SAS de l'environnement ANS
    Et le logiciel a créé puis mis à jour un rendez-vous auprès d'une plateforme SAS simulée normale

  @CLI-MTLS @CLI-MTLS-01 @bloquant
  Scénario: Un certificat client est présenté à chaque requête
    Alors chaque requête du flux est accompagnée d'un certificat client

  @CLI-CERT-CONFIGURE @CLI-CERT-CONFIGURE-01 @bloquant
  Scénario: Le certificat présenté est celui configuré pour l'environnement
    Alors chaque requête du flux présente le certificat configuré pour l'environnement

  @CLI-HIERARCHIE @CLI-HIERARCHIE-01 @bloquant
  Scénario: Le certificat est émis par l'autorité intermédiaire IGC Santé de l'environnement
    Alors le certificat présenté est émis par l'autorité intermédiaire IGC Santé de l'environnement

  @CLI-CHAINE @CLI-CHAINE-01 @recommande
  Scénario: L'autorité intermédiaire est envoyée avec le certificat
    Alors la chaîne présentée inclut l'autorité intermédiaire

  @CLI-PROFIL @CLI-PROFIL-01 @bloquant
  Scénario: Le certificat a le profil AUTH_CLI
    Alors le certificat présenté a le profil AUTH_CLI

  @CLI-VALIDITE @CLI-VALIDITE-01 @bloquant
  Scénario: Le certificat est en cours de validité
    Alors le certificat présenté est en cours de validité

  @CLI-EXPIRATION @CLI-EXPIRATION-01 @recommande
  Scénario: Le certificat n'arrive pas à expiration dans les 30 jours
    Alors le certificat présenté reste valide plus de 30 jours

  @CLI-REVOCATION @CLI-REVOCATION-01 @bloquant
  Scénario: Le certificat n'est pas révoqué
    Alors le certificat présenté n'est pas révoqué
