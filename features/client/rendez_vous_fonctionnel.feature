# language: fr
@client @fhir @recette @preproduction @production
Fonctionnalité: Rendez-vous créés puis mis à jour, jugés sur la ressource et sur la réponse de SAS
  L'éditeur crée un rendez-vous (POST [base]/Appointment) puis le met à jour par son identifiant
  (PUT [base]/Appointment?identifier=système|valeur). La plateforme SAS simulée valide chaque
  ressource Appointment contre le profil FrAppointmentSAS et répond comme SAS : 201 pour une
  création, 200 pour une mise à jour, 400 ou 422 avec une OperationOutcome sinon. Une mise à jour
  que la plateforme refuse n'est pas une mise à jour réussie.

  Contexte:
    Soit le logiciel de l'éditeur, client de la plateforme SAS de l'environnement ANS
    Et le logiciel a créé puis mis à jour un rendez-vous auprès d'une plateforme SAS simulée normale

  @creation_rdv @CLI-RDV-CREATION @CLI-RDV-CREATION-01 @bloquant
  Scénario: La plateforme SAS accepte la création du rendez-vous
    Alors la plateforme SAS accepte la création du rendez-vous

  @maj_rdv @CLI-RDV-MAJ @CLI-RDV-MAJ-01 @bloquant
  Scénario: La plateforme SAS accepte la mise à jour du rendez-vous
    Alors la plateforme SAS accepte la mise à jour du rendez-vous

  @maj_rdv @CLI-RDV-STATUT @CLI-RDV-STATUT-01 @bloquant
  Scénario: La mise à jour porte le statut changé du rendez-vous
    Alors la mise à jour porte le nouveau statut du rendez-vous

  @creation_rdv @maj_rdv @CLI-RDV-PROFIL @CLI-RDV-PROFIL-01 @bloquant
  Scénario: Chaque rendez-vous envoyé est conforme au profil FrAppointmentSAS
    Alors chaque rendez-vous du flux est conforme au profil FrAppointmentSAS

  @creation_rdv @maj_rdv @CLI-RDV-OPERATEUR @CLI-RDV-OPERATEUR-01 @bloquant
  Scénario: Chaque rendez-vous nomme le régulateur qui l'a pris
    Alors chaque rendez-vous du flux nomme le régulateur qui l'a pris

  @creation_rdv @maj_rdv @CLI-RDV-PARTICIPANT @CLI-RDV-PARTICIPANT-01 @bloquant
  Scénario: Chaque rendez-vous identifie le professionnel effecteur et son statut
    Alors chaque rendez-vous du flux identifie le professionnel effecteur et son statut

  @creation_rdv @maj_rdv @CLI-RDV-ACCEPTE @CLI-RDV-ACCEPTE-01 @recommande
  Scénario: Le professionnel effecteur de chaque rendez-vous a accepté
    Alors chaque rendez-vous du flux porte un professionnel qui a accepté
