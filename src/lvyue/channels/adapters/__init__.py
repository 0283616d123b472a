"""Clients for the sales platforms. Each speaks one platform's protocol over httpx and maps
its orders to :class:`lvyue.orders.canonical.CanonicalOrder`. No database access here."""
