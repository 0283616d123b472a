"""Random sequences of adjust / reserve / release / cancel keep the stock invariants."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from lvyue import bootstrap
from lvyue.core.errors import InsufficientStock
from lvyue.inventory import queries, service
from tests.factories import setup_world

SKUS = ["A", "B", "C"]
WHS = ["HZ", "GZ"]


def run_machine(make_uow) -> None:
    class StockMachine(RuleBasedStateMachine):
        """Model: expected on_hand per (sku, wh) and each document's reservation."""

        @initialize()
        def start(self) -> None:
            with make_uow() as u:
                for table in reversed(bootstrap.metadata.sorted_tables):
                    u.conn.execute(table.delete())
            setup_world(make_uow, skus={s: {} for s in SKUS}, warehouses=tuple(WHS))
            with make_uow() as u:
                self.sku = {s: service._sku_id(u, s) for s in SKUS}
                self.wh = {w: service._warehouse_id(u, w) for w in WHS}
            self.on_hand = {(s, w): 0 for s in SKUS for w in WHS}
            self.docs: dict[int, dict[tuple[str, str], int]] = {}
            self.next_doc = 1

        def reserved(self, key: tuple[str, str]) -> int:
            return sum(d.get(key, 0) for d in self.docs.values())

        @rule(s=st.sampled_from(SKUS), w=st.sampled_from(WHS), q=st.integers(-20, 30).filter(bool))
        def adjust(self, s: str, w: str, q: int) -> None:
            ok = self.on_hand[(s, w)] + q >= self.reserved((s, w))
            try:
                with make_uow() as u:
                    service.adjust_stock(u, sku_code=s, warehouse_code=w, quantity=q, reason="prop")
                assert ok, "adjust succeeded where it must fail"
                self.on_hand[(s, w)] += q
            except InsufficientStock:
                assert not ok, "adjust failed where it must succeed"

        @rule(
            w=st.sampled_from(WHS),
            items=st.dictionaries(st.sampled_from(SKUS), st.integers(1, 8), min_size=1),
        )
        def reserve(self, w: str, items: dict[str, int]) -> None:
            doc = self.next_doc
            self.next_doc += 1
            ok = all(self.on_hand[(s, w)] - self.reserved((s, w)) >= q for s, q in items.items())
            with make_uow() as u:
                got = service.reserve(
                    u,
                    [
                        service.Reservation(
                            "order", doc, self.wh[w], {self.sku[s]: q for s, q in items.items()}
                        )
                    ],
                )
            assert got == [ok]
            if ok:
                self.docs[doc] = {(s, w): q for s, q in items.items()}

        @rule(data=st.data())
        def release(self, data: st.DataObject) -> None:
            if not self.docs:
                return
            doc = data.draw(st.sampled_from(sorted(self.docs)))
            with make_uow() as u:
                released = service.release(u, "order", [doc], reason="cancel")
            assert released == sum(self.docs.pop(doc).values())

        @invariant()
        def levels_match_model_and_ledger(self) -> None:
            with make_uow(readonly=True) as u:
                rows = {(r["sku"], r["warehouse"]): r for r in queries.stock_levels(u)}
                assert queries.verify_levels(u) == []
            for key, on_hand in self.on_hand.items():
                r = rows.get(key, {"on_hand": 0, "reserved": 0})
                assert r["on_hand"] == on_hand
                assert r["reserved"] == self.reserved(key)
                assert 0 <= r["reserved"] <= r["on_hand"]

    StockMachine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    StockMachine.TestCase().runTest()


def test_random_stock_operations_keep_invariants(uow):
    run_machine(uow)
