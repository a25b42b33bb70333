# language: fr
@client @recette @preproduction @production
Fonctionnalité: Création puis mise à jour d'un rendez-vous auprès de la plateforme SAS
  L'éditeur crée un rendez-vous (POST [base]/Appointment) puis le met à jour par son identifiant
  (PUT [base]/Appointment?identifier=système|valeur), avec une ressource Appointment FHIR valide.

  Contexte:
    Soit le logiciel de l'éditeur, client de la plateforme SAS de l'environnement ANS
    Et le logiciel a créé puis mis à jour un rendez-vous auprès d'une plateforme SAS simulée normale

  @creation_rdv @CLI-CREATION @CLI-CREATION-01 @bloquant
  Scénario: La création d'un rendez-vous parvient à la plateforme SAS
    Alors la plateforme SAS a reçu la création d'un rendez-vous valide

  @maj_rdv @CLI-MAJ @CLI-MAJ-01 @bloquant
  Scénario: La mise à jour d'un rendez-vous parvient à la plateforme SAS
    Alors la plateforme SAS a reçu la mise à jour d'un rendez-vous valide

  @maj_rdv @CLI-MAJ-IDENTIFIANT @CLI-MAJ-IDENTIFIANT-01 @bloquant
  Scénario: La mise à jour désigne le rendez-vous créé
    Alors la mise à jour désigne le rendez-vous créé
