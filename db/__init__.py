"""The data of Cảnh giác: tables, the session, queries and the rules of each record's life."""
