# language: fr
@serveur @agregation @recette @preproduction @production
Fonctionnalité: Une révocation publiée depuis l'exécution précédente est prise en compte
  L'IGC Santé republie ses CRL chaque matin à partir de 7h. À chaque exécution planifiée, la suite
  présente un certificat sentinelle au nom de SAS, puis le révoque ; à l'exécution suivante, ce
  certificat doit être refusé. L'état est gardé à côté de reports/history.jsonl
  (reports/crl-sentinel.json) ; la première exécution ne peut rien juger : elle le dit.

  Contexte:
    Soit le serveur de l'éditeur qui répond à l'environnement ANS

  @REC-CRL-RAFRAICHIE @REC-CRL-RAFRAICHIE-01 @recommande
  Scénario: Un certificat révoqué depuis l'exécution précédente est refusé
    Soit un certificat sentinelle révoqué lors de l'exécution précédente
    Quand la plateforme SAS le présente en appelant le flux
    Alors l'appel est refusé car la révocation a été prise en compte
