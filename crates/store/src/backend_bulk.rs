//! Set-based statements for the city-scale batches, written once and expanded in
//! `sqlite.rs` and `postgres.rs` (see `backend.rs`): many rows per statement instead of
//! one round trip per row. The backend's `reserve_card_ids` and `update_cards`
//! come from its dialect (`crate::dialect::Dialect`).

macro_rules! bulk_impl {
    () => {
        /// `{column_sql} IN ($1, $2, …)` with `keys` bound (at most
        /// `rows_per_statement(1)` of them).
        fn where_in<'k>(column_sql: &str, keys: impl IntoIterator<Item = &'k String>) -> sqlx::QueryBuilder<Db> {
            let mut q = sqlx::QueryBuilder::<Db>::new(column_sql);
            q.push(" IN (");
            let mut list = q.separated(", ");
            for k in keys {
                list.push_bind(k.as_str());
            }
            q.push(")");
            q
        }

        /// One event row to be written, its hash already chained.
        struct EventRow {
            card_id: i64,
            seq: i64,
            kind: &'static str,
            payload: String,
            prev: String,
            hash: String,
        }

        /// What a batch writes to the outbox: the notices of its events and the pending
        /// liftings (card, lift key) they withdraw.
        #[derive(Default)]
        struct OutboxRows {
            /// Each notice with whether a later event of the same batch withdrew it.
            notices: Vec<(i64, yikatong_core::card::notices::Notice, bool)>,
            withdrawn: Vec<(i64, &'static str)>,
        }

        /// Chains `events` after `(prev, seq)` for `card`, collecting their rows;
        /// returns the new head.
        fn chain_events(
            k: &DataKey,
            card: &Card,
            head: (String, i64),
            events: &[CardEvent],
            meta: &EventMeta,
            rows: &mut Vec<EventRow>,
            outbox: &mut OutboxRows,
        ) -> StoreResult<(String, i64)> {
            let (mut prev, mut seq) = head;
            let card_id = card.id;
            for e in events {
                seq += 1;
                let payload = crate::records::event_payload(k, e)?;
                let hash = event_hash(k, &prev, card_id, seq, e.kind(), &payload, meta);
                for lifts in yikatong_core::card::notices::withdrawn_by(e) {
                    // A lifting written earlier in this batch is written withdrawn; one stored before is withdrawn.
                    for (_, _, withdrawn) in outbox.notices.iter_mut().filter(|(id, n, _)| *id == card_id && n.lifts == Some(*lifts) && n.due > meta.at) {
                        *withdrawn = true;
                    }
                    outbox.withdrawn.push((card_id, lifts));
                }
                outbox.notices.extend(yikatong_core::card::notices::notices_of(card, e, meta.at).into_iter().map(|n| (card_id, n, false)));
                rows.push(EventRow { card_id, seq, kind: e.kind(), payload, prev: std::mem::replace(&mut prev, hash.clone()), hash });
            }
            Ok((prev, seq))
        }

        impl BackendCardTx {
            async fn write_events(&mut self, rows: &[EventRow], outbox: &OutboxRows, meta: &EventMeta) -> StoreResult<()> {
                let at = ts(meta.at);
                for part in rows.chunks(rows_per_statement(10)) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO card_events (card_id, seq, kind, payload, actor, channel, place, at, prev_hash, hash) ");
                    q.push_values(part, |mut b, r| {
                        b.push_bind(r.card_id)
                            .push_bind(r.seq)
                            .push_bind(r.kind)
                            .push_bind(r.payload.as_str())
                            .push_bind(meta.actor.as_str())
                            .push_bind(meta.channel.as_str())
                            .push_bind(meta.place.as_deref())
                            .push_bind(at.as_str())
                            .push_bind(r.prev.as_str())
                            .push_bind(r.hash.as_str());
                    });
                    q.build().persistent(false).execute(&mut *self.tx).await?;
                }
                for (card_id, lifts) in &outbox.withdrawn {
                    sqlx::query(WITHDRAW_LIFTING).bind(at.as_str()).bind(card_id).bind(*lifts).execute(&mut *self.tx).await?;
                }
                let notices = outbox
                    .notices
                    .iter()
                    .map(|(id, n, withdrawn)| Ok((*id, n, *withdrawn, serde_json::to_string(&n.notice).map_err(|e| StoreError::Corrupt(e.to_string()))?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                for part in notices.chunks(rows_per_statement(7)) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO outbox (topic, card_id, payload, at, due, lifts, withdrawn_at) ");
                    q.push_values(part, |mut b, (card_id, n, withdrawn, payload)| {
                        b.push_bind(n.topic)
                            .push_bind(*card_id)
                            .push_bind(payload.as_str())
                            .push_bind(at.as_str())
                            .push_bind(ts(n.due))
                            .push_bind(n.lifts)
                            .push_bind(withdrawn.then_some(at.as_str()));
                    });
                    q.build().persistent(false).execute(&mut *self.tx).await?;
                }
                Ok(())
            }

            /// New cards with their first events, a few statements for any number.
            async fn insert_cards_bulk(&mut self, cards: &[(Card, Vec<CardEvent>)], meta: &EventMeta) -> StoreResult<Vec<i64>> {
                let ids = reserve_card_ids(&mut self.tx, cards.len()).await?;
                let (mut events, mut outbox, mut rows) = (Vec::new(), OutboxRows::default(), Vec::with_capacity(cards.len()));
                for ((card, new_events), id) in cards.iter().zip(&ids) {
                    let mut stored = card.clone();
                    stored.id = *id;
                    let head = chain_events(&self.key, &stored, (String::new(), 0), new_events, meta, &mut events, &mut outbox)?;
                    self.heads.insert(*id, head.clone());
                    rows.push((crate::records::card_data(&self.key, &stored)?, stored, head));
                }
                for part in rows.chunks(rows_per_statement(12)) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO cards (id, person_hash, region, state, card_number, certificate_number, batch_id, due_on, version, head_hash, last_seq, data) ",
                    );
                    q.push_values(part, |mut b, (data, c, (head, seq))| {
                        b.push_bind(c.id)
                            .push_bind(c.person_hash.as_str())
                            .push_bind(c.region.as_str())
                            .push_bind(c.state.as_str())
                            .push_bind(c.card_number.as_deref())
                            .push_bind(c.certificate.as_ref().map(|c| c.number.clone()))
                            .push_bind(c.batch_id)
                            .push_bind(c.due_on.map(|d| d.to_string()))
                            .push_bind(1_i64)
                            .push_bind(head.as_str())
                            .push_bind(*seq)
                            .push_bind(data.as_str());
                    });
                    q.build().persistent(false).execute(&mut *self.tx).await.map_err(card_write)?;
                }
                self.write_events(&events, &outbox, meta).await?;
                Ok(ids)
            }

            /// Changed cards (each locked in this transaction) with their new events.
            async fn record_many_bulk(&mut self, changes: &[(Card, Vec<CardEvent>)], meta: &EventMeta) -> StoreResult<()> {
                let (mut events, mut outbox, mut rows) = (Vec::new(), OutboxRows::default(), Vec::with_capacity(changes.len()));
                for (card, new_events) in changes {
                    let head = self.heads.get(&card.id).cloned().ok_or_else(|| StoreError::Corrupt(format!("card {} was not locked before it was changed", card.id)))?;
                    let head = chain_events(&self.key, card, head, new_events, meta, &mut events, &mut outbox)?;
                    self.heads.insert(card.id, head.clone());
                    rows.push((crate::records::card_data(&self.key, card)?, card, head));
                }
                self.write_events(&events, &outbox, meta).await?;
                let rows: Vec<CardUpdate> = rows.into_iter().map(|(data, card, (head, seq))| CardUpdate { data, card, head, seq }).collect();
                update_cards(&mut self.tx, &rows).await?;
                Ok(())
            }

            /// Locks the persons and returns all their cards, locked, with their heads.
            async fn lock_persons_cards_bulk(&mut self, person_hashes: &[String]) -> StoreResult<Vec<Card>> {
                let mut cards = Vec::new();
                for part in person_hashes.chunks(rows_per_statement(1)) {
                    let mut q = where_in("SELECT ssn_hash FROM persons WHERE ssn_hash", part);
                    q.push(FOR_UPDATE);
                    q.build().persistent(false).fetch_all(&mut *self.tx).await?;
                    // No ORDER BY: with one, PostgreSQL walks the primary key of the whole
                    // table instead of looking the persons up in `cards_by_person`.
                    let mut q = where_in("SELECT id, data, head_hash, last_seq FROM cards WHERE person_hash", part);
                    q.push(FOR_UPDATE);
                    for row in q.build().persistent(false).fetch_all(&mut *self.tx).await? {
                        cards.push(self.locked_card(&row)?);
                    }
                }
                cards.sort_by_key(|c| c.id);
                Ok(cards)
            }
        }
    };
}

pub(crate) use bulk_impl;
