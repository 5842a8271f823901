//! Diesel table definitions, identical for SQLite and PostgreSQL (see the migrations).

diesel::table! {
    organisations (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        is_provider -> Bool,
        is_customer -> Bool,
        priority_policy -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        organisation_id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        created_at -> BigInt,
        deleted_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        refresh_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        organisation_id -> Text,
        created_by -> Nullable<Text>,
        name -> Text,
        role -> Text,
        prefix -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Text,
        email -> Text,
        ip -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    regions (id) {
        id -> Text,
        provider_id -> Text,
        code -> Text,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    services (id) {
        id -> Text,
        provider_id -> Text,
        name -> Text,
        description -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    component_groups (id) {
        id -> Text,
        provider_id -> Text,
        name -> Text,
        position -> Integer,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    components (id) {
        id -> Text,
        provider_id -> Text,
        service_id -> Text,
        region_id -> Nullable<Text>,
        group_id -> Nullable<Text>,
        name -> Text,
        description -> Text,
        status -> Text,
        position -> Integer,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    component_status_events (id) {
        id -> Text,
        component_id -> Text,
        status -> Text,
        at -> BigInt,
        incident_id -> Nullable<Text>,
    }
}

diesel::table! {
    incidents (id) {
        id -> Text,
        provider_id -> Text,
        kind -> Text,
        title -> Text,
        status -> Text,
        impact -> Text,
        urgency -> Text,
        priority -> Text,
        category -> Text,
        visibility -> Text,
        version -> Integer,
        occurred_at -> Nullable<BigInt>,
        detected_at -> Nullable<BigInt>,
        acknowledged_at -> Nullable<BigInt>,
        contained_at -> Nullable<BigInt>,
        recovered_at -> Nullable<BigInt>,
        resolved_at -> Nullable<BigInt>,
        monitoring_at -> Nullable<BigInt>,
        scheduled_for -> Nullable<BigInt>,
        scheduled_until -> Nullable<BigInt>,
        response_due_at -> Nullable<BigInt>,
        resolution_due_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    incident_components (incident_id, component_id) {
        incident_id -> Text,
        component_id -> Text,
    }
}

diesel::table! {
    incident_updates (id) {
        id -> Text,
        incident_id -> Text,
        status -> Text,
        body -> Text,
        author_id -> Nullable<Text>,
        author_name -> Text,
        component_changes -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> BigInt,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        object_version -> Nullable<Integer>,
        object_hash -> Nullable<Text>,
        channel -> Nullable<Text>,
        detail -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    users,
    sessions,
    api_tokens,
    regions,
    services,
    component_groups,
    components,
    component_status_events,
    incidents,
    incident_components,
    incident_updates,
    audit_log,
);
