"""The clustering model: features -> K choice -> fitted, versioned scikit-learn Pipeline."""
