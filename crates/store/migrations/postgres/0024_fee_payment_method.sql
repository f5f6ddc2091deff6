-- R-DIST-1, R-LOSS-5 (001): how a card's fees were paid, per channel (wechat, alipay,
-- unionpay_card …); NULL for fees recorded before it was kept.
ALTER TABLE fees ADD COLUMN payment_method TEXT;
