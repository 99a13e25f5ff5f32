"""A Hub listing paged in a thread while the audit reads what it has listed so far."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from ..errors import UsageError
from ..listing import Item
from .runner import Audit


class Lister:
    """Pages through a Hub listing in a thread, recording each batch in the queue as it arrives: the
    audit starts on the first page while the Hub still pages the rest. Its error, if any, is kept for
    the caller to raise once the repos already queued are audited."""

    BATCH = 25  # small: a page's first repos reach the workers at once, whatever the page size

    def __init__(self, audit: Audit, items: Iterable[Item], *, seen: set[str],
                 keep: Callable[[Item], bool] = lambda _it: True) -> None:
        self.audit, self.items, self.seen, self.keep = audit, items, seen, keep
        self.count = 0
        self.finished = False
        self.error: BaseException | None = None
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True, name="audit-listing")

    def start(self) -> Lister:
        self.thread.start()
        return self

    def _run(self) -> None:
        batch: list[Item] = []
        state = "error"
        try:
            for it in self.items:
                if it.repo in self.seen or not self.keep(it):
                    continue
                self.seen.add(it.repo)
                batch.append(it)
                if len(batch) >= self.BATCH:
                    self._flush(batch)
                    batch = []
            state = "1"
        except BaseException as e:  # handed to the caller
            self.error = e
        finally:
            try:
                self._flush(batch)  # listed before an error: still audited
                self.audit.store.set_meta("run.listed", state)
            except Exception as e:  # the store is gone: the caller has an error to show already
                self.error = self.error or e
            with self.cond:
                self.finished = True
                self.cond.notify_all()

    def _flush(self, batch: list[Item]) -> None:
        if batch:
            self.audit.record(batch)
            with self.cond:
                self.count += len(batch)
                self.cond.notify_all()

    def wait_for(self, n: int) -> int:
        """Until `n` repos are recorded or the listing ended; how many were recorded."""
        with self.cond:
            self.cond.wait_for(lambda: self.finished or self.count >= n)
            return self.count

    def alive(self) -> bool:
        return not self.finished

    def join(self) -> None:
        self.thread.join()


def listing_query(authors=(), search: str | None = None, filters=(), sort: str | None = None, limit: int | None = None,
                  shard: str | None = None, population: str | None = None, derivatives: bool = False) -> str:
    """The listing as recorded in the store (`run.query`), so that a resume lists the same again."""
    import json

    q = {"authors": list(authors), "search": search, "filters": list(filters), "sort": sort, "limit": limit,
         "shard": shard}
    if population:
        # The file's absolute path (a shipped name stays a name): a resume from another folder lists the same.
        from ..population import population_path

        path = population_path(population)
        q |= {"population": population if path.parent.name == "populations" and path.stem == population
              else str(path.resolve()), "derivatives": bool(derivatives)}
    return json.dumps(q, sort_keys=True)


def start_listing(audit: Audit, query: str, *, seen: set[str]) -> Lister:
    """The recorded query (see listing_query), listed in a thread."""
    import json

    from ..listing import in_shard, list_hub, parse_shard

    try:
        q = json.loads(query)
        k_n = parse_shard(q["shard"]) if q.get("shard") else None
        if q.get("population"):
            from ..population import list_population, load_population

            pop = load_population(q["population"])
            audit.store.set_meta("run.population", f"{pop.id} ({pop.file}, {len(pop.orgs)} organisations"
                                 + (", with derivatives)" if q.get("derivatives") else ")"))
            items = (it for it, _q in list_population(pop, derivatives=bool(q.get("derivatives")), sort=q.get("sort"),
                                                       limit=q.get("limit"), client=audit.insp.client))
        else:
            items = list_hub(authors=q.get("authors") or (), search=q.get("search"), filters=q.get("filters") or (),
                             sort=q.get("sort"), limit=q.get("limit"), client=audit.insp.client)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError("the database records a listing this inspector cannot read again; start a new run",
                         where=str(audit.store.path)) from None
    return Lister(audit, items, seen=seen, keep=lambda it: k_n is None or in_shard(it.repo, *k_n)).start()
