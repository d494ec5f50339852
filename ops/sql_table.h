/*
 * sql_table.h — a query.sql reply printed as an aligned text table, the
 * way psql and sqlite3's box modes do: one header, a rule, numbers to the
 * right, NULL spelled out, and a footer with the row count.
 */
#ifndef LH_OPS_SQL_TABLE_H
#define LH_OPS_SQL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* False when the reply is not a query.sql reply (nothing is printed). */
bool lh_sql_table_print(const char *reply, size_t len, FILE *out);

#endif
