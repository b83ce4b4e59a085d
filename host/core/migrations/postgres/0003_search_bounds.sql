-- Bounded full-text rows: PostgreSQL refuses a tsvector over 1 MiB ("string is
-- too long for tsvector"), which made a ticket whose articles passed 1 MiB of
-- distinct words refuse every further article. Articles are now appended with
-- switchboard_tsv_append, which keeps a row within a byte budget.

-- An upper bound of the bytes a tsvector counts against the 1 MiB limit: each
-- lexeme with its alignment, position count and positions (a lexeme without
-- positions has NULL for them).
CREATE FUNCTION switchboard_tsv_bytes(v tsvector) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(sum(octet_length(lexeme) + 3 + 2 * coalesce(cardinality(positions), 0)), 0) FROM unnest(v)
$$;

-- doc || addition while that stays within budget bytes. Past it, doc keeps
-- what it has and gains those lexemes of addition it lacks (without
-- positions, in lexeme order) as long as they fit: a big ticket stays
-- searchable for most of its words and never fails to take an article.
CREATE FUNCTION switchboard_tsv_append(doc tsvector, addition tsvector, budget bigint) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    used bigint := switchboard_tsv_bytes(doc);
    fitting text[];
BEGIN
    IF used + switchboard_tsv_bytes(addition) <= budget THEN
        RETURN doc || addition;
    END IF;
    SELECT array_agg(lexeme) INTO fitting
    FROM (
        SELECT lexeme, sum(octet_length(lexeme) + 3) OVER (ORDER BY lexeme) AS running
        FROM (SELECT lexeme FROM unnest(addition) EXCEPT SELECT lexeme FROM unnest(doc)) AS fresh
    ) AS ranked
    WHERE running <= budget - used;
    IF fitting IS NULL THEN
        RETURN doc;
    END IF;
    RETURN doc || array_to_tsvector(fitting);
END
$$;
