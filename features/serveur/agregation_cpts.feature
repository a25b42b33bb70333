# language: fr
@serveur @fhir @agregation @recette @preproduction @production @cas_cpts
Fonctionnalité: Agrégation des créneaux, cas d'usage CPTS : créneaux CPTS, HealthcareService et Organization
  Pour un environnement éditeur du cas d'usage CPTS, la plateforme SAS ajoute à sa recherche de créneaux
  _include=Slot:service-type-reference et _include:iterate=HealthcareService:organization ; chaque créneau CPTS
  désigne (extension R5 de serviceType) le HealthcareService de la CPTS, lui-même fourni par l'Organization de
  la CPTS (FINESS). Ces scénarios ne sont générés que pour un tel environnement. Chaque verdict n'est retenu que
  si le contrôle positif est passé sur la même cible pendant la même exécution.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  @SRV-FHIR-CPTS-PROFILS @SRV-FHIR-CPTS-PROFILS-01 @bloquant
  Scénario: Le Bundle respecte le profil BundleAgregateurCPTS
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors les ressources respectent le profil « BundleAgregateurCPTS »

  @SRV-FHIR-CPTS-PROFILS @SRV-FHIR-CPTS-PROFILS-02 @bloquant
  Scénario: Chaque Slot respecte FrSlotAgregateurCPTS (type 604 et extension vers le HealthcareService)
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors les ressources respectent le profil « FrSlotAgregateurCPTS »

  @SRV-FHIR-CPTS-PROFILS @SRV-FHIR-CPTS-PROFILS-03 @bloquant
  Scénario: Chaque HealthcareService respecte FrHealthcareServiceAgregateurCPTS
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors les ressources respectent le profil « FrHealthcareServiceAgregateurCPTS »

  @SRV-FHIR-CPTS-PROFILS @SRV-FHIR-CPTS-PROFILS-04 @bloquant
  Scénario: Chaque Organization respecte FrOrganizationAgregateurCPTS (FINESS 1 + 9 chiffres)
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors les ressources respectent le profil « FrOrganizationAgregateurCPTS »

  @SRV-FHIR-CPTS-REFERENCES @SRV-FHIR-CPTS-REFERENCES-01 @bloquant
  Scénario: Chaque créneau CPTS désigne un HealthcareService inclus dans le Bundle
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « HealthcareService inclus »

  @SRV-FHIR-CPTS-REFERENCES @SRV-FHIR-CPTS-REFERENCES-02 @bloquant
  Scénario: Chaque HealthcareService désigne une Organization incluse dans le Bundle
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « Organization incluse »
