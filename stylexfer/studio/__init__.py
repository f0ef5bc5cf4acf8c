"""The studio: restyle in the browser with the models loaded once (`app.make_app`)."""
