"""The web side: views, actions, how an answer is negotiated, forms and URLs."""
