# language: fr
@serveur @fhir @agregation @recette @preproduction @production @cas_sos
Fonctionnalité: Agrégation des créneaux, cas d'usage SOS Médecins : agendas, lieux et associations par SIRET
  Pour un environnement éditeur du cas d'usage SOS Médecins, la plateforme SAS recherche GET [base]/Schedule
  (_revinclude=Slot:schedule, _include=Schedule:actor:Location, _include:iterate=Location:organization, fenêtre et
  statut en _has:Slot:schedule, associations par SIRET) ; la réponse porte les Schedule trouvés, leurs Slot, leurs
  Location et les Organization des associations. Ces scénarios ne sont générés que pour un tel environnement.
  Chaque verdict n'est retenu que si le contrôle positif est passé sur la même cible pendant la même exécution.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  @SRV-FHIR-SOS-PROFILS @SRV-FHIR-SOS-PROFILS-01 @bloquant
  Scénario: Le Bundle respecte le profil BundleAgregateurSOS
    Quand la plateforme SAS recherche les créneaux des associations de test
    Alors les ressources respectent le profil « BundleAgregateurSOS »

  @SRV-FHIR-SOS-PROFILS @SRV-FHIR-SOS-PROFILS-02 @bloquant
  Scénario: Chaque Slot respecte FrSlotAgregateurSOS
    Quand la plateforme SAS recherche les créneaux des associations de test
    Alors les ressources respectent le profil « FrSlotAgregateurSOS »

  @SRV-FHIR-SOS-PROFILS @SRV-FHIR-SOS-PROFILS-03 @bloquant
  Scénario: Chaque Schedule respecte FrScheduleAgregateurSOS (son acteur est un lieu de consultation)
    Quand la plateforme SAS recherche les créneaux des associations de test
    Alors les ressources respectent le profil « FrScheduleAgregateurSOS »

  @SRV-FHIR-SOS-PROFILS @SRV-FHIR-SOS-PROFILS-04 @bloquant
  Scénario: Chaque Location respecte FrLocationAgregateurSOS (nom, adresse, association gestionnaire)
    Quand la plateforme SAS recherche les créneaux des associations de test
    Alors les ressources respectent le profil « FrLocationAgregateurSOS »

  @SRV-FHIR-SOS-PROFILS @SRV-FHIR-SOS-PROFILS-05 @bloquant
  Scénario: Chaque Organization respecte FrOrganizationAgregateurSOS (SIRET 3 + 14 chiffres)
    Quand la plateforme SAS recherche les créneaux des associations de test
    Alors les ressources respectent le profil « FrOrganizationAgregateurSOS »

  @SRV-FHIR-SOS-CRENEAUX @SRV-FHIR-SOS-CRENEAUX-01 @bloquant
  Scénario: Chaque agenda trouvé arrive avec ses créneaux (_revinclude=Slot:schedule)
    Quand la plateforme SAS recherche les créneaux des associations de test
    Alors le moteur FHIR ne relève aucun constat « créneaux des agendas »

  @SRV-FHIR-SOS-REPONSE @SRV-FHIR-SOS-REPONSE-01 @bloquant
  Scénario: Une association inconnue donne 200 et un Bundle de total 0, jamais 404
    Quand la plateforme SAS recherche les créneaux d'une association inconnue
    Alors la réponse est un Bundle searchset de total 0

  @SRV-FHIR-SOS-IDENTIFIANTS @SRV-FHIR-SOS-IDENTIFIANTS-01 @bloquant
  Scénario: Une recherche pour plusieurs associations répond pour chacune
    Quand la plateforme SAS recherche les créneaux des associations de test
    Alors chaque association de test est dans la réponse

  @SRV-FHIR-SOS-IDENTIFIANTS @SRV-FHIR-SOS-IDENTIFIANTS-02 @bloquant
  Scénario: Une recherche pour une association ne renvoie qu'elle
    Quand la plateforme SAS recherche les créneaux de la première association de test
    Alors la réponse ne porte que la première association de test

  @SRV-FHIR-SOS-IDENTIFIANTS @SRV-FHIR-SOS-IDENTIFIANTS-03 @bloquant
  Scénario: Une recherche pour 25 associations reçoit sa réponse
    Quand la plateforme SAS recherche les créneaux de 25 associations
    Alors la réponse est un Bundle searchset avec son total
    Et chaque association de test est dans la réponse
