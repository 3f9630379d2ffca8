// The items of `customer-cdc check`, by concern. Each emits exactly one line
// through the Checker (or throws, which Checker::step turns into a FAIL line).
#pragma once

#include "checker.hpp"

namespace cdc::app::check {

// server.cpp
/// The "connect" item; on success the Checker holds the connection and ServerFacts.
bool connect_to_server(Checker& c);
void server_version(Checker& c);
void wal_level(Checker& c);
void replication_slots(Checker& c);
void wal_senders(Checker& c);
void replication_privilege(Checker& c);

// plugin.cpp
void output_plugin_libraries(Checker& c);
/// Loads the configured plugin with a temporary slot (and, for wal2json, its
/// options); needs the findings of the server items. The item is named after the plugin.
void output_plugin(Checker& c);
void slot(Checker& c);

// schema.cpp
/// Records missing tables in Findings for the items after it.
void schema(Checker& c);
void audit_trigger(Checker& c);
void replica_identity(Checker& c);
void privileges(Checker& c);
void row_level_security(Checker& c);

// online_snapshot.cpp (kafka enabled)
void online_snapshot(Checker& c);

// sign_up_triggers.cpp
void sign_up_triggers(Checker& c);

// publication.cpp (plugin = "pgoutput")
void publication(Checker& c);

// streaming.cpp (plugin = "pgoutput"; needs no connection)
void streaming(Checker& c);

// kafka.cpp
void kafka(Checker& c);

// metrics.cpp
void metrics(Checker& c);

}  // namespace cdc::app::check
