-- metaetl upgrade 0.1.0 -> 0.2.0, assembled by the Makefile from
-- sql/upgrade/0.1.0--0.2.0/*.sql in name order.  Each fragment belongs to the
-- subsystem whose install fragment it mirrors (same number): a fragment that
-- only creates new objects is a symlink to that install fragment; one that
-- changes existing objects repeats their new definitions exactly, so that an
-- upgraded catalog equals a fresh one (harness case 05_upgrade diffs them).

\echo Use "ALTER EXTENSION metaetl UPDATE" to load this file. \quit
