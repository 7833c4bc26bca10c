/* observa--1.0--1.1.sql: upgrade an observa 1.0 installation to 1.1 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION observa UPDATE TO '1.1'" to load this file. \quit

--
-- Every change to the SQL API made in 1.1 appears twice: in
-- observa--1.1.sql (a fresh install) and here (an upgrade).  A test
-- compares the catalog objects of both paths.
--
