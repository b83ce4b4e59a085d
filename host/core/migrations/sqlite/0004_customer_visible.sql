-- Dynamic fields a customer may see: a customer reading a ticket gets only
-- the values of fields with customer_visible set (default: hidden).
ALTER TABLE dynamic_fields ADD COLUMN customer_visible INTEGER NOT NULL DEFAULT 0;
