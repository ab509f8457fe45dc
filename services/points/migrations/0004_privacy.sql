-- Personal data (PDPA). Erasure: an erased member's account is re-keyed from their phone
-- to the pseudonym erased:<member_id>; the rows that name the account follow it
-- (ON UPDATE CASCADE), and the ledger lets an entry's phone, and nothing else, become
-- a pseudonym. Purge: a cancelled shop's entries may be deleted by the purge of that
-- shop, and only inside its transaction (the setting points.purging_shop names it).
-- Everything else of the ledger stays append-only.
-- depends: 0003_spend_cancellations

ALTER TABLE sales DROP CONSTRAINT sales_shop_id_phone_fkey,
    ADD CONSTRAINT sales_shop_id_phone_fkey FOREIGN KEY (shop_id, phone) REFERENCES accounts ON UPDATE CASCADE;
ALTER TABLE entries DROP CONSTRAINT entries_shop_id_phone_fkey,
    ADD CONSTRAINT entries_shop_id_phone_fkey FOREIGN KEY (shop_id, phone) REFERENCES accounts ON UPDATE CASCADE;
ALTER TABLE lots DROP CONSTRAINT lots_shop_id_phone_fkey,
    ADD CONSTRAINT lots_shop_id_phone_fkey FOREIGN KEY (shop_id, phone) REFERENCES accounts ON UPDATE CASCADE;
ALTER TABLE spends DROP CONSTRAINT spends_shop_id_phone_fkey,
    ADD CONSTRAINT spends_shop_id_phone_fkey FOREIGN KEY (shop_id, phone) REFERENCES accounts ON UPDATE CASCADE;
ALTER TABLE orders DROP CONSTRAINT orders_shop_id_phone_fkey,
    ADD CONSTRAINT orders_shop_id_phone_fkey FOREIGN KEY (shop_id, phone) REFERENCES accounts ON UPDATE CASCADE;

CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.phone LIKE 'erased:%' AND OLD.phone NOT LIKE 'erased:%'
       AND to_jsonb(NEW) - 'phone' = to_jsonb(OLD) - 'phone' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND current_setting('points.purging_shop', true) = OLD.shop_id::text THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'ledger entries are append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END $$;

-- Re-keying an account (ON UPDATE CASCADE) and deleting accounts, entries and sales make
-- PostgreSQL look up the rows that refer to each one: without an index on the referring
-- columns every lookup is a scan of the whole table (measured: a 100,000-account purge did
-- not finish in 10 minutes). One more index write per sale and per credit is the price.
CREATE INDEX sales_of_account ON sales (shop_id, phone);
CREATE INDEX lots_of_account ON lots (shop_id, phone);
CREATE INDEX spends_of_account ON spends (shop_id, phone);
CREATE INDEX orders_of_account ON orders (shop_id, phone);
CREATE INDEX entries_of_sale ON entries (sale_id) WHERE sale_id IS NOT NULL;
CREATE INDEX lots_expired_by ON lots (expired_entry_id) WHERE expired_entry_id IS NOT NULL;
CREATE INDEX voids_of_target ON voids (target_entry_id);
CREATE INDEX voids_of_entry ON voids (entry_id) WHERE entry_id IS NOT NULL;
CREATE INDEX spends_of_entry ON spends (entry_id);
CREATE INDEX spends_of_refund ON spends (refund_entry_id) WHERE refund_entry_id IS NOT NULL;
CREATE INDEX orders_of_entry ON orders (entry_id) WHERE entry_id IS NOT NULL;
CREATE INDEX order_refunds_of_void ON order_refunds (void_id) WHERE void_id IS NOT NULL;
CREATE INDEX qr_codes_of_sale ON qr_codes (sale_id) WHERE sale_id IS NOT NULL;
