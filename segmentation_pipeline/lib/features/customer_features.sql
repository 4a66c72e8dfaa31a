-- One row per customer over every loaded day: demographics plus purchasing behaviour.
-- Plain SQL (window functions, CASE, aggregates) so any warehouse engine can run it.
-- The category placeholders in braces expand to one spend-share column per product category
-- (the share of the customer's spend in that category; they sum to 1), and to the count of
-- categories with spend, and to the model's basket: each share pulled toward the average
-- customer's share by a few pseudo-transactions (see `lib/features/sql.py`).
WITH demographic_votes AS (
    -- Demographics should be constant per customer; when rows disagree, the combination seen
    -- on most rows wins, ties going to the most recent day, and the customer is flagged.
    SELECT
        User_ID, Gender, Age, Occupation, City_Category, Stay_In_Current_City_Years,
        Marital_Status,
        count(*) AS rows_with_combination,
        max(transaction_date) AS last_seen
    FROM raw.transactions
    GROUP BY User_ID, Gender, Age, Occupation, City_Category, Stay_In_Current_City_Years,
        Marital_Status
),
demographics AS (
    SELECT
        *,
        count(*) OVER (PARTITION BY User_ID) AS demographic_variants,
        row_number() OVER (
            PARTITION BY User_ID
            ORDER BY rows_with_combination DESC, last_seen DESC, Gender, Age, Occupation,
                City_Category, Stay_In_Current_City_Years, Marital_Status
        ) AS preference
    FROM demographic_votes
),
-- Distinct counts as distinct pairs first, then a count per customer: a plain GROUP BY that
-- the engine can spill to disk, where count(DISTINCT ...) keeps a set per customer in memory.
product_pairs AS (
    SELECT User_ID, count(*) AS distinct_products
    FROM (SELECT DISTINCT User_ID, Product_ID FROM raw.transactions) AS pairs
    GROUP BY User_ID
),
day_pairs AS (
    SELECT User_ID, count(*) AS active_days
    FROM (SELECT DISTINCT User_ID, transaction_date FROM raw.transactions) AS pairs
    GROUP BY User_ID
),
totals AS (
    SELECT
        User_ID,
        count(*) AS transactions,
        sum(Purchase) AS total_spend,
        avg(Purchase) AS avg_ticket,
        min(transaction_date) AS first_purchase_date,
        max(transaction_date) AS last_purchase_date,
        {category_spend_shares}
    FROM raw.transactions
    GROUP BY User_ID
),
behaviour AS (
    -- Categories bought: those with spend (every valid row has Purchase >= 1), read from the
    -- category spend totals instead of a third distinct-pairs pass over every row.
    SELECT totals.*, product_pairs.distinct_products,
        CAST({categories_with_spend} AS BIGINT) AS distinct_categories,
        day_pairs.active_days
    FROM totals
    JOIN product_pairs ON product_pairs.User_ID = totals.User_ID
    JOIN day_pairs ON day_pairs.User_ID = totals.User_ID
)
SELECT
    behaviour.User_ID AS user_id,
    demographics.Gender AS gender,
    demographics.Age AS age,
    demographics.Occupation AS occupation,
    demographics.City_Category AS city_category,
    demographics.Stay_In_Current_City_Years AS stay_in_current_city_years,
    demographics.Marital_Status AS marital_status,
    demographics.demographic_variants > 1 AS demographics_conflict,
    behaviour.transactions,
    behaviour.total_spend,
    behaviour.avg_ticket,
    CAST(behaviour.total_spend AS DOUBLE) / behaviour.active_days AS spend_per_active_day,
    behaviour.distinct_products,
    behaviour.distinct_categories,
    behaviour.active_days,
    behaviour.first_purchase_date,
    behaviour.last_purchase_date,
    -- Recency within the window: days from the customer's last purchase to the last day of data.
    CAST(max(behaviour.last_purchase_date) OVER () - behaviour.last_purchase_date AS INTEGER)
        AS days_since_last_purchase,
    {category_share_columns},
    {category_basket_columns}
FROM behaviour
JOIN demographics
    ON demographics.User_ID = behaviour.User_ID AND demographics.preference = 1
ORDER BY user_id
