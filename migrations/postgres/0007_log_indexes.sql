-- Indexes for the delivery log's filters, newest first (keyset paging on id).
CREATE INDEX deliveries_app_status ON deliveries (app_id, status, id);
CREATE INDEX deliveries_app_graph_state ON deliveries (app_id, graph, state, id);
CREATE INDEX deliveries_app_created ON deliveries (app_id, created_at, id);
