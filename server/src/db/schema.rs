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
        time_zone -> Nullable<Text>,
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
        layer -> Text,
        exercise -> Bool,
    }
}

diesel::table! {
    clock_alerts (clock_id, deadline_key, kind, instant, user_id, channel) {
        clock_id -> Text,
        deadline_key -> Text,
        kind -> Text,
        instant -> BigInt,
        user_id -> Text,
        channel -> Text,
        queued_at -> BigInt,
        outbox_id -> Nullable<Text>,
        handed_off_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    incident_records (incident_id, organisation_id) {
        incident_id -> Text,
        organisation_id -> Text,
        version -> Integer,
        body -> Text,
        updated_at -> BigInt,
        updated_by -> Nullable<Text>,
    }
}

diesel::table! {
    milestone_edits (id) {
        id -> Text,
        incident_id -> Text,
        incident_version -> Integer,
        milestone -> Text,
        old_at -> Nullable<BigInt>,
        new_at -> BigInt,
        reason -> Text,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        at -> BigInt,
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

diesel::table! {
    relationships (id) {
        id -> Text,
        provider_id -> Text,
        customer_id -> Text,
        service_model -> Text,
        status -> Text,
        invited_by -> Nullable<Text>,
        accepted_by -> Nullable<Text>,
        invited_at -> BigInt,
        accepted_at -> Nullable<BigInt>,
        ended_at -> Nullable<BigInt>,
        version -> Integer,
        updated_at -> BigInt,
    }
}

diesel::table! {
    relationship_scopes (relationship_id, service_id, region_id) {
        relationship_id -> Text,
        service_id -> Text,
        region_id -> Text,
    }
}

diesel::table! {
    incident_audiences (incident_id, customer_id) {
        incident_id -> Text,
        customer_id -> Text,
    }
}

diesel::table! {
    resource_mappings (id) {
        id -> Text,
        customer_id -> Text,
        name -> Text,
        component_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_layouts (user_id) {
        user_id -> Text,
        layout -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    incident_notes (id) {
        id -> Text,
        incident_id -> Text,
        customer_id -> Text,
        author_id -> Nullable<Text>,
        author_name -> Text,
        body -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    incident_acks (incident_id, customer_id) {
        incident_id -> Text,
        customer_id -> Text,
        user_id -> Nullable<Text>,
        user_name -> Text,
        incident_version -> Integer,
        acknowledged_at -> BigInt,
    }
}

diesel::table! {
    incident_reach (incident_id, customer_id) {
        incident_id -> Text,
        customer_id -> Text,
        channel -> Text,
        reached_at -> BigInt,
    }
}

diesel::table! {
    feed_tokens (id) {
        id -> Text,
        customer_id -> Text,
        created_by -> Nullable<Text>,
        name -> Text,
        prefix -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Text,
        organisation_id -> Text,
        user_id -> Nullable<Text>,
        role -> Nullable<Text>,
        name -> Text,
        provider_ids -> Text,
        service_ids -> Text,
        region_ids -> Text,
        min_priority -> Text,
        channels -> Text,
        mode -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    subscription_optouts (subscription_id, user_id) {
        subscription_id -> Text,
        user_id -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    events (seq) {
        seq -> BigInt,
        at -> BigInt,
        kind -> Text,
        provider_id -> Text,
        object_type -> Text,
        object_id -> Text,
        object_version -> Nullable<Integer>,
        provider_only -> Bool,
        audience -> Text,
        payload -> Text,
        object_hash -> Nullable<Text>,
    }
}

diesel::table! {
    record_versions (object_type, object_id, version) {
        object_type -> Text,
        object_id -> Text,
        version -> Integer,
        body -> Text,
        hash -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    disclosures (seq) {
        seq -> BigInt,
        at -> BigInt,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        object_type -> Text,
        object_id -> Text,
        object_version -> Nullable<Integer>,
        object_hash -> Nullable<Text>,
        channel -> Text,
        recipients -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    credential_changes (seq) {
        seq -> BigInt,
        at -> BigInt,
        kind -> Text,
        user_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        kept_session_id -> Nullable<Text>,
        api_token_id -> Nullable<Text>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Text,
        message_id -> Text,
        organisation_id -> Text,
        user_id -> Nullable<Text>,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        thread_id -> Nullable<Text>,
        unsubscribe_url -> Nullable<Text>,
        object_type -> Text,
        object_id -> Text,
        object_version -> Nullable<Integer>,
        object_hash -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        claimed_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    digest_items (id) {
        id -> Text,
        user_id -> Text,
        subscription_id -> Text,
        event_seq -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    used_refresh_tokens (refresh_hash) {
        refresh_hash -> Text,
        session_id -> Text,
        used_at -> BigInt,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        organisation_id -> Text,
        email -> Text,
        role -> Text,
        token_hash -> Text,
        invited_by -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        accepted_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        user_id -> Nullable<Text>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        key -> Text,
        payload -> Text,
        due_at -> BigInt,
        state -> Text,
        attempts -> Integer,
        max_attempts -> Nullable<Integer>,
        lease_until -> Nullable<BigInt>,
        leased_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    agreements (id) {
        id -> Text,
        kind -> Text,
        state -> Text,
        in_force_version -> Nullable<Integer>,
        pending_version -> Nullable<Integer>,
        latest_version -> Integer,
        effective_from -> Nullable<BigInt>,
        effective_until -> Nullable<BigInt>,
        suspended_by -> Nullable<Text>,
        proposed_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    agreement_parties (agreement_id, version, organisation_id) {
        agreement_id -> Text,
        version -> Integer,
        organisation_id -> Text,
        role -> Text,
        accepted_at -> Nullable<BigInt>,
        accepted_by -> Nullable<Text>,
    }
}

diesel::table! {
    stix_objects (key) {
        key -> Text,
        stix_id -> Text,
        owner_id -> Text,
        stix_type -> Text,
        category -> Text,
        tlp -> Text,
        version -> Integer,
        modified -> Nullable<Text>,
        revoked -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        named_recipients -> Nullable<Text>,
    }
}

diesel::table! {
    stix_versions (seq) {
        seq -> BigInt,
        object_key -> Text,
        version -> Integer,
        modified -> Nullable<Text>,
        revoked -> Bool,
        added_at -> BigInt,
    }
}

diesel::table! {
    stix_shares (object_id, agreement_id) {
        object_id -> Text,
        agreement_id -> Text,
        shared_at -> BigInt,
        shared_by -> Nullable<Text>,
        via -> Nullable<Text>,
    }
}

diesel::table! {
    stix_values (kind, value, object_key) {
        kind -> Text,
        value -> Text,
        object_key -> Text,
        ip_key -> Nullable<Text>,
    }
}

diesel::table! {
    stix_prefixes (kind, len) {
        kind -> Text,
        len -> Integer,
    }
}

diesel::table! {
    stix_sightings (id) {
        id -> Text,
        object_key -> Text,
        reporter_id -> Text,
        agreement_id -> Text,
        count -> Integer,
        first_seen -> BigInt,
        last_seen -> BigInt,
        note -> Nullable<Text>,
        reported_by -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    imports (id) {
        id -> Text,
        organisation_id -> Text,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        state -> Text,
        format -> Text,
        file_name -> Nullable<Text>,
        tlp -> Text,
        share_under -> Text,
        counts -> Text,
        errors -> Text,
        failure -> Nullable<Text>,
        bytes_total -> BigInt,
        heartbeat_at -> Nullable<BigInt>,
        created_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    import_chunks (import_id, n) {
        import_id -> Text,
        n -> Integer,
        data -> Binary,
    }
}

diesel::table! {
    taxii_statuses (id) {
        id -> Text,
        organisation_id -> Text,
        body -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    escalation_policies (organisation_id) {
        organisation_id -> Text,
        version -> Integer,
        updated_at -> BigInt,
        updated_by -> Nullable<Text>,
    }
}

diesel::table! {
    escalations (id) {
        id -> Text,
        incident_id -> Text,
        organisation_id -> Text,
        policy_version -> Integer,
        policy_hash -> Text,
        rule_index -> Integer,
        state -> Text,
        started_at -> BigInt,
        ended_at -> Nullable<BigInt>,
        ended_by -> Nullable<Text>,
        step_base -> Integer,
        assignee_id -> Nullable<Text>,
    }
}

diesel::table! {
    escalation_notices (escalation_id, step, user_id, channel) {
        escalation_id -> Text,
        step -> Integer,
        user_id -> Text,
        channel -> Text,
        level -> Integer,
        attempt -> Integer,
        pass -> Integer,
        due_at -> BigInt,
        queued_at -> BigInt,
        outbox_id -> Nullable<Text>,
        handed_off_at -> Nullable<BigInt>,
        delivered_at -> Nullable<BigInt>,
        seen_at -> Nullable<BigInt>,
        link_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    clock_decisions (id) {
        id -> Text,
        incident_id -> Text,
        organisation_id -> Text,
        kind -> Text,
        at -> BigInt,
        reason -> Text,
        decided_by -> Nullable<Text>,
        decided_by_name -> Text,
        recorded_at -> BigInt,
    }
}

diesel::table! {
    clocks (id) {
        id -> Text,
        incident_id -> Text,
        organisation_id -> Text,
        regime -> Text,
        time_zone -> Text,
        holidays -> Text,
        contract_hours -> Nullable<Integer>,
        malicious -> Bool,
        started_by -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    clock_filings (clock_id, deadline_key) {
        clock_id -> Text,
        deadline_key -> Text,
        filed_at -> BigInt,
        filed_by -> Nullable<Text>,
        reference -> Nullable<Text>,
        late_reason -> Nullable<Text>,
        recorded_at -> BigInt,
    }
}

diesel::joinable!(incident_components -> components (component_id));
diesel::joinable!(escalation_notices -> escalations (escalation_id));
diesel::joinable!(agreement_parties -> agreements (agreement_id));
diesel::joinable!(stix_shares -> stix_objects (object_id));
diesel::joinable!(stix_versions -> stix_objects (object_key));
diesel::joinable!(stix_values -> stix_objects (object_key));
diesel::joinable!(stix_sightings -> stix_objects (object_key));
diesel::joinable!(components -> services (service_id));
diesel::joinable!(components -> regions (region_id));

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
    relationships,
    relationship_scopes,
    incident_audiences,
    resource_mappings,
    user_layouts,
    incident_notes,
    incident_acks,
    incident_reach,
    feed_tokens,
    subscriptions,
    subscription_optouts,
    events,
    mail_outbox,
    digest_items,
    record_versions,
    disclosures,
    used_refresh_tokens,
    invitations,
    jobs,
    agreements,
    agreement_parties,
    stix_objects,
    stix_versions,
    stix_shares,
    stix_values,
    stix_prefixes,
    stix_sightings,
    imports,
    import_chunks,
    taxii_statuses,
    escalation_policies,
    escalations,
    escalation_notices,
    clock_decisions,
    clocks,
    clock_filings,
    milestone_edits,
    clock_alerts,
    incident_records,
);
