# language: fr
@serveur @agregation @regulateurs @recette @preproduction @production
Fonctionnalité: Contrôle positif : le serveur de l'éditeur accepte la plateforme SAS
  La plateforme SAS appelle l'éditeur avec son certificat IGC Santé valide et obtient une réponse FHIR.
  Sans ce contrôle, aucun refus observé ailleurs ne prouverait quoi que ce soit : chaque refus
  n'est retenu que si ce contrôle a réussi sur la même cible et le même flux pendant la même exécution.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  @SRV-MTLS @SRV-MTLS-01 @bloquant
  Scénario: Le certificat valide de SAS, envoyé avec son autorité intermédiaire, est accepté
    Soit la plateforme SAS présente son certificat valide avec l'autorité intermédiaire
    Quand elle appelle le flux
    Alors l'appel est accepté avec une réponse FHIR

  @REC-CHAINE @REC-CHAINE-01 @recommande
  Scénario: Le certificat valide de SAS, envoyé sans son autorité intermédiaire, est accepté
    Soit la plateforme SAS présente son certificat valide sans l'autorité intermédiaire
    Quand elle appelle le flux
    Alors l'appel est accepté avec une réponse FHIR
