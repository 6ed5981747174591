-- Benchmark data for sigov-alerts (scripts/bench): load AFTER
-- tests/fixtures/si-gouvernance-schema.sql into an empty database.
-- Deterministic (no RAND(), no NOW(): every value derives from the row
-- number, CRC32 of a salted row number, and the fixed "today" below), and
-- set-based (MariaDB's SEQUENCE engine, INSERT ... SELECT), so that it loads
-- in well under a minute.
--
-- Fixed business day: 2026-03-16 (run the tool with
-- --at 2026-03-16T08:00:00+01:00). DATETIME columns hold UTC wall time.
--
--   users            2,000   1-5 superusers; ~24 inactive (is_active = 0),
--                            ~9 statut_actif = 0, ~21 with an empty e-mail,
--                            4 with an invalid one
--   projects        20,000   60% EN_COURS, the rest spread over the 6 other
--                            statuses; date_fin uniform over -120..+120 days,
--                            but 3 in 4 overdue EN_COURS projects are moved
--                            to the future (so ~12% of EN_COURS are overdue);
--                            1 in 53 has no date_fin; 1 in 487 has budget 0
--   assignments     80,000   4 per project: #0 principal (ended on 1 in 50
--                            projects: no principal), #1-#2 members, #3 a
--                            member (ended on 1 in 3) or, on 1 in 40, a
--                            second active principal
--   stages         100,000   5 per project (ordre = type 1..5); EN_COURS /
--                            SUSPENDU projects: TERMINEE before a current
--                            stage, EN_COURS current, A_VENIR after; 8% of
--                            the running stages are late, 1% dateless;
--                            TERMINE / ARCHIVE: all done but 1 in 25 still
--                            has its last stage running late
--   tasks          500,000   5 per stage; done stages: TERMINEE/ECHEC past
--                            due (0.1% left open: overdue); running stages:
--                            A_FAIRE/EN_COURS/BLOQUEE/TERMINEE/ECHEC, 2.5%
--                            overdue, some dateless; upcoming: A_FAIRE.
--                            Assignee: 10% none, 5% an outsider (no access),
--                            5% a superuser, else one of the 4 assignees
--   budget lines    50,000   MATERIEL + SERVICE on every project, a third
--                            line (MATERIEL/SERVICE/LICENCE) on half; 4% of
--                            projects spend 105% of their budget
--   contracts        5,000   on every 4th project; 7% expired, 2% expiring
--                            within 30 days, 2% not started yet but ending
--                            within 30 days (never warned), the rest later
--
-- Ids: char(32) lowercase hex, a type digit then the row number in hex:
-- 1… user, 2… project, 3… assignment, 4… stage, 5… task, 6… budget line,
-- 7… contract. No real person, address or password here.

SET NAMES utf8mb4;
SET @today = DATE '2026-03-16';
SET @now = TIMESTAMP '2026-03-16 07:00:00';
SET SESSION foreign_key_checks = 0, unique_checks = 0;
SET SESSION max_heap_table_size = 268435456; -- the MEMORY helper tables below

-- Reference data (as the app's migrations create it) -------------------------------

INSERT INTO core_statutprojet (id, nom, description, couleur_affichage, ordre_affichage) VALUES
  (1, 'IDEE',     'Projet à l''état d''idée',            '#9CA3AF', 1),
  (2, 'AFFECTE',  'Projet affecté à un responsable',      '#60A5FA', 2),
  (3, 'PLANIFIE', 'Projet planifié et prêt à démarrer',   '#8B5CF6', 3),
  (4, 'EN_COURS', 'Projet en cours de réalisation',       '#F59E0B', 4),
  (5, 'SUSPENDU', 'Projet suspendu',                      '#EF4444', 5),
  (6, 'TERMINE',  'Projet terminé et livré',              '#10B981', 6),
  (7, 'ARCHIVE',  'Projet archivé',                       '#6B7280', 7);

INSERT INTO core_typeetape (id, nom, description, ordre_standard, couleur, icone_emoji, date_creation) VALUES
  (1, 'PLANIFICATION', 'Phase de planification et analyse des besoins', 1, '#3B82F6', '📋', @now - INTERVAL 800 DAY),
  (2, 'CONCEPTION',    'Phase de conception et architecture',           2, '#8B5CF6', '🎨', @now - INTERVAL 800 DAY),
  (3, 'DEVELOPPEMENT', 'Phase de développement et implémentation',      3, '#F59E0B', '💻', @now - INTERVAL 800 DAY),
  (4, 'TESTS',         'Phase de tests et validation',                  4, '#EF4444', '🧪', @now - INTERVAL 800 DAY),
  (5, 'DEPLOIEMENT',   'Phase de déploiement en production',            5, '#10B981', '🚀', @now - INTERVAL 800 DAY),
  (6, 'MAINTENANCE',   'Phase de maintenance et support',               6, '#6B7280', '🔧', @now - INTERVAL 800 DAY);

INSERT INTO core_roleprojet (id, nom, description, date_creation) VALUES
  (1, 'RESPONSABLE_PRINCIPAL', 'Responsable principal du projet', @now - INTERVAL 800 DAY),
  (2, 'MEMBRE',                'Membre de l''équipe projet',      @now - INTERVAL 800 DAY);

START TRANSACTION;

-- Users ---------------------------------------------------------------------------

INSERT INTO core_utilisateur (id, password, last_login, is_superuser, username, first_name, last_name, email,
    is_staff, is_active, date_joined, telephone, taux_horaire, statut_actif, date_creation,
    derniere_connexion, tentatives_connexion_echouees, compte_bloque_jusqu, role_systeme_id, membre_id)
SELECT CONCAT('1', LPAD(LOWER(HEX(seq)), 31, '0')),
       '!bench-unusable-password',
       @now - INTERVAL (seq % 30) DAY,
       seq <= 5,
       CONCAT('user', LPAD(seq, 4, '0')),
       ELT(1 + seq % 12, 'Sophie', 'Julien', 'Camille', 'Léa', 'Nicolas', 'Émilie', 'Antoine', 'Chloé',
           'Hugo', 'Inès', 'Lucas', 'Manon'),
       ELT(1 + (seq DIV 12) % 10, 'Martin', 'Lefèvre', 'Dubois', 'Moreau', 'Girard', 'Bernard', 'Roux',
           'Petit', 'Durand', 'Faure'),
       CASE WHEN seq > 5 AND seq % 97 = 50 THEN ''
            WHEN seq > 5 AND seq % 499 = 77 THEN CONCAT('user', seq, ' at example.org')
            ELSE CONCAT('user', LPAD(seq, 4, '0'), '@example.org') END,
       seq <= 5,
       NOT (seq > 5 AND seq % 83 = 41),
       @now - INTERVAL (400 + seq % 300) DAY,
       '',
       50.00 + seq % 30,
       NOT (seq > 5 AND seq % 211 = 100),
       @now - INTERVAL (400 + seq % 300) DAY,
       NULL, 0, NULL, NULL, NULL
FROM seq_1_to_2000;

-- Projects: attributes computed once in a helper table -----------------------------

CREATE TEMPORARY TABLE bench_p (
  n INT NOT NULL PRIMARY KEY,
  id CHAR(32) NOT NULL,
  statut_id BIGINT NOT NULL,
  creator CHAR(32) NOT NULL,
  budget DECIMAL(12,2) NOT NULL,
  date_fin DATE NULL
) ENGINE=MEMORY;

INSERT INTO bench_p (n, id, statut_id, creator, budget, date_fin)
SELECT n,
       CONCAT('2', LPAD(LOWER(HEX(n)), 31, '0')),
       statut_id,
       CONCAT('1', LPAD(LOWER(HEX(1 + (n * 7) % 300)), 31, '0')),
       IF(n % 487 = 3, 0.00, 10000.00 + (n % 90) * 1000 + (n % 2) * 0.50),
       CASE WHEN n % 53 = 0 THEN NULL
            WHEN off < 0 AND statut_id = 4 AND CRC32(CONCAT('late', n)) % 4 <> 0 THEN @today + INTERVAL -off DAY
            ELSE @today + INTERVAL off DAY END
FROM (SELECT seq AS n,
             CAST(CRC32(CONCAT('fin', seq)) % 241 AS SIGNED) - 120 AS off,
             CASE WHEN h < 18 THEN 4 WHEN h < 20 THEN 1 WHEN h < 22 THEN 2 WHEN h < 24 THEN 3
                  WHEN h < 26 THEN 5 WHEN h < 28 THEN 6 ELSE 7 END AS statut_id
      FROM (SELECT seq, CRC32(CONCAT('statut', seq)) % 30 AS h FROM seq_1_to_20000) x) y;

INSERT INTO core_projet (id, nom, description, client, budget_previsionnel, devise, priorite, date_creation,
    date_modification, commentaires, createur_id, statut_id, notifications_admin_activees, duree_projet,
    date_debut, date_fin, fichier_description)
SELECT id,
       CONCAT('Projet ', LPAD(n, 5, '0'), ' – ',
              ELT(1 + n % 8, 'Portail RH', 'Dématérialisation de l''état civil', 'Intranet collaboratif',
                  'Migration de la messagerie', 'Archivage numérique', 'Tableau de bord qualité',
                  'Audit de sécurité', 'Refonte du site « citoyens »')),
       'Projet généré pour le banc de mesure de sigov-alerts.',
       ELT(1 + n % 6, 'Groupe Hospitalier Sud', 'Mairie de Villefranche', 'Coopérative Agricole de l''Ouest',
           'Cabinet Durand & Associés', 'Étude Notariale Lambert', 'Laboratoires Mercier'),
       budget, 'EUR',
       ELT(1 + n % 4, 'BASSE', 'MOYENNE', 'HAUTE', 'CRITIQUE'),
       @now - INTERVAL (n % 400) DAY - INTERVAL n SECOND,
       @now - INTERVAL (n % 20) DAY,
       '', creator, statut_id, 1, 180,
       COALESCE(date_fin, @today) - INTERVAL 180 DAY,
       date_fin, NULL
FROM bench_p;

-- Assignments: 4 per project -------------------------------------------------------

INSERT INTO core_affectation (id, est_responsable_principal, pourcentage_temps, date_debut, date_fin,
    projet_id, role_sur_projet_id, utilisateur_id, notes, role_projet_id)
SELECT CONCAT('3', LPAD(LOWER(HEX(seq)), 31, '0')),
       principal, 25 * (1 + k), @now - INTERVAL 150 DAY,
       IF((k = 0 AND n % 50 = 0) OR (k = 3 AND n % 3 = 0 AND n % 40 <> 1), @now - INTERVAL 30 DAY, NULL),
       CONCAT('2', LPAD(LOWER(HEX(n)), 31, '0')),
       NULL,
       CONCAT('1', LPAD(LOWER(HEX(6 + (n * 7 + k * 491) % 1995)), 31, '0')),
       '', IF(principal, 1, 2)
FROM (SELECT seq, (seq - 1) DIV 4 + 1 AS n, (seq - 1) % 4 AS k,
             ((seq - 1) % 4 = 0 OR ((seq - 1) % 4 = 3 AND ((seq - 1) DIV 4 + 1) % 40 = 1)) AS principal
      FROM seq_1_to_80000) a;

-- Stages: 5 per project (ordre s = type s), attributes in a helper table -----------

CREATE TEMPORARY TABLE bench_s (
  si INT NOT NULL PRIMARY KEY,
  id CHAR(32) NOT NULL,
  n INT NOT NULL,
  s INT NOT NULL,
  statut VARCHAR(20) NOT NULL,
  fin DATE NULL,
  creator CHAR(32) NOT NULL,
  projet CHAR(32) NOT NULL
) ENGINE=MEMORY;

INSERT INTO bench_s (si, id, n, s, statut, fin, creator, projet)
SELECT si, CONCAT('4', LPAD(LOWER(HEX(si)), 31, '0')), n, s, statut,
       CASE WHEN statut = 'TERMINEE' THEN @today - INTERVAL (30 * (6 - s) + n % 30) DAY
            WHEN statut = 'A_VENIR' THEN @today + INTERVAL (30 * s + n % 30) DAY
            -- a running stage of a finished project: late
            WHEN statut_id IN (6, 7) THEN @today - INTERVAL (1 + si % 45) DAY
            WHEN CRC32(CONCAT('slate', si)) % 100 < 8 THEN @today - INTERVAL (1 + si % 45) DAY
            WHEN CRC32(CONCAT('slate', si)) % 100 = 99 THEN NULL
            ELSE @today + INTERVAL (si % 40) DAY END,
       creator, projet
FROM (SELECT x.si, x.n, x.s, p.statut_id, p.creator, p.id AS projet,
             CASE WHEN p.statut_id IN (4, 5) THEN
                      CASE WHEN x.s < x.cur THEN 'TERMINEE' WHEN x.s = x.cur THEN 'EN_COURS' ELSE 'A_VENIR' END
                  WHEN p.statut_id IN (6, 7) THEN IF(x.s = 5 AND x.n % 25 = 0, 'EN_COURS', 'TERMINEE')
                  ELSE 'A_VENIR' END AS statut
      FROM (SELECT seq AS si, (seq - 1) DIV 5 + 1 AS n, (seq - 1) % 5 + 1 AS s,
                   1 + CRC32(CONCAT('cur', (seq - 1) DIV 5 + 1)) % 5 AS cur
            FROM seq_1_to_100000) x
      JOIN bench_p p ON p.n = x.n) y;

INSERT INTO core_etapeprojet (id, ordre, statut, date_debut_prevue, date_fin_prevue, date_debut_reelle,
    date_fin_reelle, date_creation, date_modification, commentaires, createur_id, projet_id, type_etape_id)
SELECT id, s, statut,
       fin - INTERVAL 30 DAY, fin,
       IF(statut = 'A_VENIR', NULL, COALESCE(fin, @today) - INTERVAL 30 DAY + INTERVAL 7 HOUR),
       -- finished stages; and 1 in 997 running stages whose end is already recorded (never alerted)
       IF(statut = 'TERMINEE' OR si % 997 = 0, COALESCE(fin, @today) + INTERVAL 15 HOUR, NULL),
       @now - INTERVAL 200 DAY - INTERVAL si SECOND,
       @now - INTERVAL (si % 30) DAY,
       '', creator, projet, s
FROM bench_s;

-- Tasks: 5 per stage -----------------------------------------------------------------

INSERT INTO core_tacheetape (id, nom, description, duree_estimee, date_debut, date_fin, statut, priorite,
    date_creation, date_modification, commentaires, raison_blocage, createur_id, etape_id, responsable_id,
    date_debut_reelle, date_fin_reelle, etiquettes, pourcentage_completion, temps_passe,
    statut_personnalise_id, ajoutee_apres_cloture, justification_ajout_tardif, cas_test_id)
SELECT CONCAT('5', LPAD(LOWER(HEX(t)), 31, '0')),
       CONCAT(ELT(1 + t % 6, 'Développer l''API', 'Intégrer les graphiques', 'Connecteur SSO',
                  'Rédiger la documentation', 'Préparer la recette', 'Revue de code'), ' n°', t),
       '', 8 + h % 32,
       date_fin - INTERVAL 10 DAY, date_fin, statut,
       ELT(1 + h % 4, 'BASSE', 'MOYENNE', 'HAUTE', 'CRITIQUE'),
       @now - INTERVAL 200 DAY - INTERVAL t SECOND,
       @now - INTERVAL (h % 30) DAY,
       '', IF(statut = 'BLOQUEE', 'En attente d''un prérequis.', ''),
       creator, etape,
       CASE WHEN r < 2 THEN NULL
            -- an outsider: not among the project's 4 assignees, no access
            WHEN r = 2 THEN CONCAT('1', LPAD(LOWER(HEX(6 + (n * 7 + 1200) % 1995)), 31, '0'))
            WHEN r = 3 THEN CONCAT('1', LPAD(LOWER(HEX(1 + t % 5)), 31, '0'))
            ELSE CONCAT('1', LPAD(LOWER(HEX(6 + (n * 7 + (r % 4) * 491) % 1995)), 31, '0')) END,
       NULL,
       IF(statut = 'TERMINEE', @now - INTERVAL (h % 50) DAY, NULL),
       '', IF(statut = 'TERMINEE', 100, h % 90), NULL, NULL, 0, '', NULL
FROM (SELECT t, h, r, n, etape, creator, statut,
             CASE WHEN sstatut = 'TERMINEE' THEN @today - INTERVAL (10 + h % 200) DAY
                  WHEN sstatut = 'A_VENIR' THEN @today + INTERVAL (30 + h % 90) DAY
                  WHEN h < 25 THEN @today - INTERVAL (1 + h) DAY
                  WHEN h >= 950 THEN NULL
                  WHEN h % 5 IN (3, 4) THEN @today - INTERVAL (1 + h % 60) DAY
                  ELSE @today + INTERVAL (h % 45) DAY END AS date_fin
      FROM (SELECT x.t, x.h, x.r, s.n, s.id AS etape, s.creator, s.statut AS sstatut,
                   CASE s.statut
                       WHEN 'TERMINEE' THEN CASE WHEN x.h = 999 THEN 'A_FAIRE' WHEN x.h < 20 THEN 'ECHEC' ELSE 'TERMINEE' END
                       WHEN 'EN_COURS' THEN ELT(1 + x.h % 5, 'A_FAIRE', 'EN_COURS', 'BLOQUEE', 'TERMINEE', 'ECHEC')
                       ELSE 'A_FAIRE' END AS statut
            FROM (SELECT seq AS t, (seq - 1) DIV 5 + 1 AS si,
                         CRC32(CONCAT('task', seq)) % 1000 AS h, CRC32(CONCAT('resp', seq)) % 20 AS r
                  FROM seq_1_to_500000) x
            JOIN bench_s s ON s.si = x.si) y) z;

-- Budget lines: MATERIEL + SERVICE on every project, a third line on half -------------

INSERT INTO core_lignebudget (id, type_ligne, montant, description, date_ajout, ajoute_par_id, projet_id)
SELECT CONCAT('6', LPAD(LOWER(HEX(j)), 31, '0')),
       CASE r WHEN 0 THEN 'MATERIEL' WHEN 1 THEN 'SERVICE' ELSE ELT(1 + n % 3, 'MATERIEL', 'SERVICE', 'LICENCE') END,
       IF(budget = 0, 100.00,
          ROUND(budget * CASE r WHEN 0 THEN IF(ov, 0.55, 0.30) WHEN 1 THEN IF(ov, 0.50, 0.25) ELSE 0.10 END
                + IF(ov AND r = 1, 0.25 * (n % 3), 0), 2)),
       ELT(1 + r, 'Serveurs et postes de travail', 'Prestation d''intégration', 'Licences et divers'),
       @now - INTERVAL (j % 200) DAY - INTERVAL j SECOND,
       creator, id
FROM (SELECT x.j, x.r, p.n, p.id, p.creator, p.budget, CRC32(CONCAT('budget', p.n)) % 100 < 4 AS ov
      FROM (SELECT seq AS j, (seq - 1) % 20000 + 1 AS n, (seq - 1) DIV 20000 AS r FROM seq_1_to_50000) x
      JOIN bench_p p ON p.n = x.n) y;

-- Maintenance contracts: one on every 4th project ------------------------------------

INSERT INTO core_contratgarantie (id, type_garantie, date_debut, date_fin, sla_heures, description_couverture,
    exclusions, date_creation, cree_par_id, projet_id)
SELECT CONCAT('7', LPAD(LOWER(HEX(c)), 31, '0')),
       IF(c % 2 = 0, 'CORRECTIVE', 'EVOLUTIVE'),
       CASE WHEN h < 9 THEN fin - INTERVAL 365 DAY WHEN h < 11 THEN @today + INTERVAL 2 DAY
            ELSE @today - INTERVAL 300 DAY END,
       fin, 24 * (1 + c % 3),
       'Correction des anomalies bloquantes et majeures.', 'Évolutions fonctionnelles.',
       @now - INTERVAL 300 DAY - INTERVAL c SECOND,
       IF(c % 10 = 0, NULL, p.creator), p.id
FROM (SELECT c, h,
             CASE WHEN h < 7 THEN @today - INTERVAL (1 + c % 365) DAY          -- expired
                  WHEN h < 9 THEN @today + INTERVAL (c % 31) DAY               -- expiring within 30 days
                  WHEN h < 11 THEN @today + INTERVAL (3 + c % 28) DAY          -- not started yet
                  ELSE @today + INTERVAL (31 + c % 700) DAY END AS fin,
             4 * c - 3 AS n
      FROM (SELECT seq AS c, CRC32(CONCAT('contrat', seq)) % 100 AS h FROM seq_1_to_5000) x) y
JOIN bench_p p ON p.n = y.n;

COMMIT;

DROP TEMPORARY TABLE bench_s;
DROP TEMPORARY TABLE bench_p;
SET SESSION foreign_key_checks = 1, unique_checks = 1;

-- Fresh statistics, so that plans do not depend on when the background
-- statistics thread last ran.
ANALYZE TABLE core_utilisateur, core_projet, core_affectation, core_etapeprojet, core_tacheetape,
    core_lignebudget, core_contratgarantie;
