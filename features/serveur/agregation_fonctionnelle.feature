# language: fr
@serveur @fhir @agregation @recette @preproduction @production
Fonctionnalité: Agrégation des créneaux, fonctionnellement : la réponse à la vraie recherche de SAS
  La plateforme SAS envoie sa vraie recherche de créneaux (fenêtre de 72 h à partir de maintenant, heure de Paris,
  identifiants RPPS des praticiens de test, status=free, les deux _include, Accept: application/json+fhir) et
  la réponse est vérifiée contre l'IG FHIR SAS et les contrôles du kit de test de l'ANS. Chaque verdict n'est
  retenu que si le contrôle positif est passé sur la même cible pendant la même exécution.
  Les scénarios sans étiquette de cas d'usage valent pour les trois (PS indiv, CPTS, SOS Médecins : la recherche
  est alors celle du cas d'usage de l'environnement) ; @cas_ps_indiv / @cas_cpts les réservent à ces cas.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  @SRV-FHIR-REPONSE @SRV-FHIR-REPONSE-01 @bloquant
  Scénario: La recherche de SAS reçoit 200 et un Bundle searchset avec son total
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors la réponse est un Bundle searchset avec son total

  @SRV-FHIR-REPONSE @SRV-FHIR-REPONSE-02 @bloquant @cas_ps_indiv @cas_cpts
  Scénario: Un praticien inconnu donne 200 et un Bundle de total 0, jamais 404
    Quand la plateforme SAS recherche les créneaux d'un praticien inconnu
    Alors la réponse est un Bundle searchset de total 0

  @SRV-FHIR-FORMAT @SRV-FHIR-FORMAT-01 @bloquant
  Scénario: La réponse porte un Content-Type FHIR JSON en UTF-8
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors la réponse porte un Content-Type FHIR JSON en UTF-8

  @SRV-FHIR-FORMAT @SRV-FHIR-FORMAT-02 @bloquant
  Scénario: Le corps de la réponse est en UTF-8 et ses accents survivent
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le corps de la réponse est en UTF-8 et ses accents intacts

  @SRV-FHIR-PROFILS @SRV-FHIR-PROFILS-01 @bloquant
  Scénario: La réponse respecte la structure FHIR R4
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors la réponse respecte la structure FHIR R4

  @SRV-FHIR-PROFILS @SRV-FHIR-PROFILS-02 @bloquant @cas_ps_indiv
  Scénario: Le Bundle respecte le profil BundleAgregateur
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors les ressources respectent le profil « BundleAgregateur »

  @SRV-FHIR-PROFILS @SRV-FHIR-PROFILS-03 @bloquant @cas_ps_indiv
  Scénario: Chaque Slot respecte le profil FrSlotAgregateur
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors les ressources respectent le profil « FrSlotAgregateur »

  @SRV-FHIR-PROFILS @SRV-FHIR-PROFILS-04 @bloquant @cas_ps_indiv @cas_cpts
  Scénario: Chaque Schedule respecte le profil FrScheduleAgregateur
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors les ressources respectent le profil « FrScheduleAgregateur »

  @SRV-FHIR-PROFILS @SRV-FHIR-PROFILS-05 @bloquant @cas_ps_indiv @cas_cpts
  Scénario: Chaque Practitioner respecte FrPractitionerAgregateur (IDNPS, RPPS 8 + 11 chiffres)
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors les ressources respectent le profil « FrPractitionerAgregateur »

  @SRV-FHIR-PROFILS @SRV-FHIR-PROFILS-06 @bloquant @cas_ps_indiv @cas_cpts
  Scénario: Chaque PractitionerRole respecte FrPractitionerRoleExerciceAgregateur
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors les ressources respectent le profil « FrPractitionerRoleExerciceAgregateur »

  @SRV-FHIR-PROFILS @SRV-FHIR-PROFILS-07 @bloquant @cas_ps_indiv @cas_cpts
  Scénario: Chaque Location respecte FrLocationAgregateur (voie, ville, code postal à 5 chiffres)
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors les ressources respectent le profil « FrLocationAgregateur »

  @SRV-FHIR-CRENEAUX @SRV-FHIR-CRENEAUX-01 @bloquant
  Scénario: Chaque créneau a le statut free
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « statut »

  @SRV-FHIR-CRENEAUX @SRV-FHIR-CRENEAUX-02 @bloquant
  Scénario: Chaque créneau commence avant de finir
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « début avant fin »

  @SRV-FHIR-CRENEAUX @SRV-FHIR-CRENEAUX-03 @bloquant
  Scénario: Chaque créneau commence dans la fenêtre demandée
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « fenêtre »

  @SRV-FHIR-CRENEAUX @SRV-FHIR-CRENEAUX-04 @bloquant
  Scénario: Aucun créneau ne commence dans le passé
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « passé »

  @SRV-FHIR-CRENEAUX @SRV-FHIR-CRENEAUX-05 @bloquant
  Scénario: Chaque créneau avec RDV porte l'URL de prise de RDV dans comment
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « URL de prise de RDV »

  @SRV-FHIR-CRENEAUX @SRV-FHIR-CRENEAUX-06 @bloquant
  Scénario: Le type de créneau vient du jeu de valeurs TRE-R314
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « type de créneau »

  @SRV-FHIR-CRENEAUX @SRV-FHIR-CRENEAUX-07 @bloquant
  Scénario: Le type de consultation est AMB, HH ou VR
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « type de consultation »

  @SRV-FHIR-KIT-DATES @SRV-FHIR-KIT-DATES-01 @bloquant
  Scénario: Les dates portent les millisecondes et un décalage horaire (kit ANS)
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « format des dates »

  @SRV-FHIR-REFERENCES @SRV-FHIR-REFERENCES-01 @bloquant
  Scénario: Chaque référence du Bundle se résout vers une ressource incluse
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « références »

  @REC-FHIR-ORPHELINES @REC-FHIR-ORPHELINES-01 @recommande
  Scénario: Aucune entrée du Bundle n'est orpheline
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat « entrées orphelines »

  @REC-FHIR-HYGIENE @REC-FHIR-HYGIENE-01 @recommande
  Scénario: Le moteur FHIR ne relève aucun constat recommandé
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le moteur FHIR ne relève aucun constat recommandé

  @SRV-FHIR-IDENTIFIANTS @SRV-FHIR-IDENTIFIANTS-01 @bloquant @cas_ps_indiv @cas_cpts
  Scénario: Une recherche pour plusieurs praticiens répond pour chacun
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors chaque praticien de test est dans la réponse

  @SRV-FHIR-IDENTIFIANTS @SRV-FHIR-IDENTIFIANTS-02 @bloquant @cas_ps_indiv @cas_cpts
  Scénario: Une recherche pour un praticien ne renvoie que lui
    Quand la plateforme SAS recherche les créneaux du premier praticien de test
    Alors la réponse ne porte que le premier praticien de test

  @SRV-FHIR-IDENTIFIANTS @SRV-FHIR-IDENTIFIANTS-03 @bloquant @cas_ps_indiv @cas_cpts
  Scénario: Une recherche pour 25 praticiens reçoit sa réponse
    Quand la plateforme SAS recherche les créneaux de 25 praticiens
    Alors la réponse est un Bundle searchset avec son total
    Et chaque praticien de test est dans la réponse

  @SRV-FHIR-KIT-SELF @SRV-FHIR-KIT-SELF-01 @bloquant
  Scénario: Le lien self du Bundle reprend la requête (kit ANS)
    Quand la plateforme SAS recherche les créneaux des praticiens de test
    Alors le lien self du Bundle reprend la requête

  @SRV-FHIR-KIT-PERF @SRV-FHIR-KIT-PERF-01 @bloquant
  Scénario: La recherche répond en moins d'une seconde (médiane, kit ANS)
    Quand la plateforme SAS répète sa recherche plusieurs fois
    Alors la médiane des temps de réponse est sous 1 s

  @REC-FHIR-400 @recommande
  Plan du scénario: Une recherche mal formée reçoit 400 et un OperationOutcome
    Quand la plateforme SAS envoie une recherche mal formée « <cas> »
    Alors la recherche est refusée avec 400 et un OperationOutcome

    @REC-FHIR-400-01
    Exemples:
      | cas |
      | sans status |
      | start sans préfixe |
      | 26 identifiants |
