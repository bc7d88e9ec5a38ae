// The parameter one SET / RESET statement changes, for SessionSets: a newer
// recorded change of the same parameter replaces an older one. Pure: the
// classifier's lexer (LexSql) and a fixed pattern, no I/O.
//
// Keyed: exactly one statement (trailing ';' allowed) of the forms
//   SET [SESSION] name {TO | =} value[, ...]   (also SET name TO DEFAULT)
//   SET [SESSION] TIME ZONE ...                (timezone)
//   RESET name                                 (RESET TIME ZONE: timezone)
// where name is an identifier, possibly quoted, possibly dotted (myapp.x).
// The key is the name as PostgreSQL looks the parameter up: the parts joined
// by '.', ASCII letters lower-cased (guc.c compares names without regard to
// ASCII case, quoted or not).
//
// No key ("") whenever that is not certain, and for the parameters whose
// change depends on the changes before it, or that changes how the ones after
// it are read or whether they are allowed, so that dropping an older change of
// it could give a backend replaying the rest a different value:
//   role, session_authorization (and SET ROLE / SESSION AUTHORIZATION),
//   client_encoding / NAMES, standard_conforming_strings, backslash_quote
//   (how the later statements' text is read), DateStyle (a SET of only its
//   style or only its order keeps the other part), default_text_search_config
//   (looked up in the search_path of the moment), log_*_stats (each refused
//   while another is on), seed, transaction_* and SET TRANSACTION / SESSION
//   CHARACTERISTICS, SET LOCAL, SET CONSTRAINTS, RESET ALL;
// and for any text with a comment or a backslash (how PostgreSQL reads a
// backslash depends on standard_conforming_strings), several statements, or
// anything but the forms above.
#pragma once

#include <string>
#include <string_view>

namespace pgvigil::proxy {

std::string SetKey(std::string_view sql);

}  // namespace pgvigil::proxy
