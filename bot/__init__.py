"""A Discord bot for AI image generation with the OpenAI Images API.

``bot.app.create_bot`` builds it; ``python -m bot`` runs it. The layers, top to bottom (each imports
only those below it; ``.ci/run`` checks this with import-linter):

- ``bot.app`` — the wiring: builds the services, the bot, its cogs and buttons.
- ``cogs`` — the slash commands, the menu and the reply trigger.
- ``bot.ui`` — the Discord side: starting jobs, progress, attachments, delivery, buttons,
  autocomplete, the one error handler, the discord.py client.
- ``bot.core`` — pure: the job pipeline, recipes, scheduling, and every word a member reads.
- ``bot.store`` (quotas, jobs, SQLite) and ``bot.imaging`` (Pillow work on images).
- ``bot.images`` — the OpenAI Images API: client, model table, validation.
- ``bot.errors`` — the root of the exception tree.
"""
