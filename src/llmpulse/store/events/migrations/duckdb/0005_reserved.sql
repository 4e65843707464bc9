-- Placeholder: number 0005 belongs to a change made in parallel with 0006 (the migration
-- runner needs an unbroken 1..n chain). Whoever merges both drops this file and keeps the
-- real 0005.
SELECT 1;
