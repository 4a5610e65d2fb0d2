"""The web chat over ``qa.ask()``: ``create_app()`` builds the page, ``serve()`` runs it."""
