"""Synthetic worlds for the sample data, one per problem type.

Each generator returns the features of the default schema, `_day` (a fraction
of the sample period, for the timestamp) and `_label`, drawn from a known
process with real but noisy signal, missing values and skewed categories, so
training, evaluation and drift monitoring have something realistic to chew on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FloatArray = np.ndarray


def binary(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Customer churn: about 15% of customers churn within 30 days."""
    plan = rng.choice(["basic", "standard", "premium"], size=n, p=[0.5, 0.35, 0.15])
    region = rng.choice(["north", "south", "east", "west"], size=n, p=[0.3, 0.25, 0.25, 0.2])
    channel = rng.choice(["web", "mobile", "store", "partner"], size=n, p=[0.4, 0.35, 0.15, 0.1])
    tenure = np.clip(np.round(rng.gamma(2.0, 14.0, n)), 0, 240)
    base_spend = pd.Series(plan).map({"basic": 20.0, "standard": 45.0, "premium": 90.0})
    spend = np.clip(base_spend.to_numpy() * rng.lognormal(0.0, 0.35, n), 0, 5000)
    tickets = np.clip(rng.poisson(0.5 + 0.6 * (plan == "basic"), n), 0, 100).astype(float)
    login = np.clip(np.round(rng.exponential(12.0, n)), 0, 3650)
    discount = rng.beta(1.2, 6.0, n)

    logit = (
        -0.06 * tenure
        + 0.8 * tickets
        + 0.07 * np.minimum(login, 60)
        - 3.0 * discount
        + _lookup(plan, {"basic": 0.7, "standard": 0.0, "premium": -0.9})
        + _lookup(region, {"north": 0.0, "south": 0.5, "east": -0.2, "west": 0.1})
        + _lookup(channel, {"web": 0.0, "mobile": 0.3, "store": -0.6, "partner": 0.9})
        + 1.2 * ((spend > 60) & (tickets >= 2))
    )
    probability = _sigmoid(logit + _intercept_for_rate(logit, 0.15))
    label = (rng.random(n) < probability).astype(int)
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_spend": _with_missing(rng, spend, 0.08),
            "support_tickets_30d": tickets,
            "days_since_last_login": _with_missing(rng, login, 0.06),
            "discount_share": discount,
            "plan": plan,
            "region": region,
            "channel": _with_missing_category(rng, channel, 0.05),
            "_day": rng.random(n),
            "_label": label,
        }
    )


def multiclass(
    rng: np.random.Generator, n: int, n_classes: int, world: np.random.Generator
) -> pd.DataFrame:
    """Support tickets routed to one of `n_classes` queues, mostly by product."""
    products = ["billing", "mobile_app", "web_app", "hardware", "api"]
    product = rng.choice(products, size=n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    priority = rng.choice(["low", "normal", "high", "urgent"], size=n, p=[0.3, 0.45, 0.18, 0.07])
    language = rng.choice(["en", "de", "fr", "es", "other"], size=n, p=[0.55, 0.15, 0.1, 0.1, 0.1])
    length = np.clip(np.round(rng.lognormal(6.0, 0.8, n)), 0, 100000)
    age = np.clip(np.round(rng.exponential(700.0, n)), 0, 20000)
    previous = np.clip(rng.poisson(3.0, n), 0, 1000).astype(float)
    attachments = np.clip(rng.poisson(0.5, n), 0, 100).astype(float)
    sentiment = np.tanh(rng.normal(0.0, 0.6, n))

    # The world: how strongly each queue attracts each product, priority, ...
    product_affinity = world.normal(0.0, 1.6, (n_classes, len(products)))
    product_affinity[np.arange(n_classes), np.arange(n_classes) % len(products)] += 2.5
    priority_affinity = world.normal(0.0, 0.8, (n_classes, 4))
    numeric_weights = world.normal(0.0, 0.7, (n_classes, 4))
    bias = -np.log1p(0.15 * np.arange(n_classes))

    product_index = pd.Categorical(product, categories=products).codes
    priority_index = pd.Categorical(priority, categories=["low", "normal", "high", "urgent"]).codes
    numeric = np.column_stack(
        [(np.log1p(length) - 6.0) / 0.8, np.log1p(age) / 7.0 - 0.8, attachments, sentiment]
    )
    scores = (
        product_affinity[:, product_index].T
        + priority_affinity[:, priority_index].T
        + numeric @ numeric_weights.T
        + bias
        + rng.gumbel(0.0, 0.8, (n, n_classes))
    )
    label = scores.argmax(axis=1)
    # Every queue appears at least a few times, so training sees every class.
    missing = np.setdiff1d(np.arange(n_classes), np.unique(label))
    if missing.size:
        slots = rng.choice(n, size=(missing.size, 5), replace=False)
        label[slots] = missing[:, None]
    return pd.DataFrame(
        {
            "message_length": length,
            "account_age_days": age,
            "previous_tickets": previous,
            "attachment_count": _with_missing(rng, attachments, 0.08),
            "sentiment": _with_missing(rng, sentiment, 0.1),
            "product": product,
            "priority": priority,
            "language": _with_missing_category(rng, language, 0.05),
            "_day": rng.random(n),
            "_label": label.astype(int),
        }
    )


def regression(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Food delivery: minutes from order to delivery."""
    city = rng.choice(
        ["amsterdam", "berlin", "lisbon", "madrid", "paris"], size=n, p=[0.2, 0.25, 0.1, 0.2, 0.25]
    )
    vehicle = rng.choice(["bike", "scooter", "car"], size=n, p=[0.4, 0.35, 0.25])
    weather = rng.choice(["clear", "rain", "snow", "wind"], size=n, p=[0.6, 0.25, 0.05, 0.1])
    distance = np.clip(np.round(rng.gamma(2.0, 1.8, n), 2), 0.1, 200)
    items = np.clip(1 + rng.poisson(2.0, n), 1, 500).astype(float)
    prep = np.clip(np.round(rng.gamma(3.0, 3.0, n) + 0.8 * items), 0, 600)
    hour_weights = np.array(
        [1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 5, 9, 10, 8, 5, 4, 5, 8, 11, 12, 9, 6, 4, 2]
    )
    hour = rng.choice(24, size=n, p=hour_weights / hour_weights.sum()).astype(float)
    rating = np.clip(np.round(rng.normal(4.5, 0.35, n), 2), 1, 5)

    speed = _lookup(vehicle, {"bike": 14.0, "scooter": 22.0, "car": 28.0})
    speed = speed * _lookup(weather, {"clear": 1.0, "rain": 0.85, "snow": 0.6, "wind": 0.9})
    rush = np.isin(hour, [11, 12, 13, 18, 19, 20])
    minutes = (
        4.0
        + prep
        + distance / speed * 60.0 * np.where(rush & (vehicle == "car"), 1.4, 1.0)
        + 6.0 * rush
        + _lookup(
            city, {"amsterdam": 0.0, "berlin": 2.0, "lisbon": 5.0, "madrid": 3.0, "paris": 6.0}
        )
        + 3.0 * (5.0 - rating)
        + rng.gamma(2.0, 2.5, n)
        + rng.normal(0.0, 4.0, n)
        - 5.0
    )
    return pd.DataFrame(
        {
            "distance_km": distance,
            "items_count": items,
            "prep_minutes": prep,
            "hour_of_day": hour,
            "courier_rating": _with_missing(rng, rating, 0.1),
            "city": city,
            "vehicle": vehicle,
            "weather": _with_missing_category(rng, weather, 0.04),
            "_day": rng.random(n),
            "_label": np.clip(np.round(minutes, 1), 1, 1440),
        }
    )


def ranking(rng: np.random.Generator, n_queries: int, size: int) -> pd.DataFrame:
    """Search results: `size` candidates per query with graded relevance 0-4."""
    categories = np.array(["books", "electronics", "fashion", "home", "sports", "toys"])
    n = n_queries * size
    query = np.repeat(np.arange(n_queries), size)
    intent = np.repeat(rng.integers(0, len(categories), n_queries), size)
    device = np.repeat(
        rng.choice(["desktop", "mobile", "tablet"], size=n_queries, p=[0.45, 0.45, 0.1]), size
    )
    item_category = rng.integers(0, len(categories), n)
    match = item_category == intent
    text_match = np.clip(rng.beta(2.0, 5.0, n) + 0.25 * match, 0, 1)
    popularity = np.clip(np.round(rng.lognormal(6.0, 1.5, n)), 0, 1_000_000)
    price = np.clip(np.round(rng.lognormal(3.5, 1.0, n), 2), 0, 100_000)
    age = np.clip(np.round(rng.exponential(300.0, n)), 0, 10_000)
    affinity = np.tanh(rng.normal(0.4 * match, 0.5))

    latent = (
        3.0 * text_match
        + 1.2 * match
        + 0.25 * np.log1p(popularity)
        + 0.6 * affinity
        - 0.3 * np.log1p(price) * (device == "mobile")
        - 0.001 * age
        + rng.gumbel(0.0, 0.5, n)
    )
    cuts = np.quantile(latent, [0.82, 0.91, 0.96, 0.99])
    return pd.DataFrame(
        {
            "_group": query,
            "text_match": text_match,
            "item_popularity": popularity,
            "item_price": price,
            "item_age_days": _with_missing(rng, age, 0.07),
            "user_affinity": _with_missing(rng, affinity, 0.15),
            "item_category": categories[item_category],
            "device": device,
            "_day": np.repeat(rng.random(n_queries), size),
            "_label": np.searchsorted(cuts, latent).astype(int),
        }
    )


def _lookup(values: np.ndarray, table: dict[str, float]) -> FloatArray:
    return pd.Series(values).map(table).to_numpy(dtype=float)


def _sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def _intercept_for_rate(logit: FloatArray, rate: float) -> float:
    """The intercept that makes the mean probability equal `rate` (bisection)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        middle = (low + high) / 2
        if _sigmoid(logit + middle).mean() < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _with_missing(rng: np.random.Generator, values: FloatArray, share: float) -> FloatArray:
    return np.where(rng.random(len(values)) < share, np.nan, values)


def _with_missing_category(rng: np.random.Generator, values: np.ndarray, share: float) -> pd.Series:
    series = pd.Series(values, dtype="object")
    series[rng.random(len(values)) < share] = None
    return series
