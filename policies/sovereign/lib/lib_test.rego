package sovereign.lib_test

import data.sovereign.fixtures_test as fx
import data.sovereign.lib

# --- decision date ---------------------------------------------------------

test_today_from_utc_time if {
	lib.today == "2026-11-27" with input as {"time": "2026-11-27T23:59:59Z"}
}

test_today_converts_an_offset_to_utc if {
	lib.today == "2026-11-28" with input as {"time": "2026-11-27T23:30:00-02:00"}
}

test_today_undefined_without_time if {
	not lib.today with input as {}
}

test_today_undefined_for_malformed_time if {
	not lib.today with input as {"time": "27/11/2026"}
}

# --- dated entries -----------------------------------------------------------

entry := {"valid_from": "2020-01-01", "valid_until": "2020-12-31"}

open_entry := {"valid_from": "2020-01-01", "valid_until": null}

test_in_force_boundaries_are_inclusive if {
	not lib.in_force(entry) with input as {"time": "2019-12-31T23:59:59Z"}
	lib.in_force(entry) with input as {"time": "2020-01-01T00:00:00Z"}
	lib.in_force(entry) with input as {"time": "2020-12-31T23:59:59Z"}
	not lib.in_force(entry) with input as {"time": "2021-01-01T00:00:00Z"}
}

test_in_force_open_ended if {
	lib.in_force(open_entry) with input as {"time": "2099-01-01T00:00:00Z"}
	not lib.in_force(open_entry) with input as {"time": "2019-01-01T00:00:00Z"}
}

test_in_force_needs_valid_from if {
	not lib.in_force({"valid_until": null}) with input as {"time": fx.now}
}

versions := [
	{"valid_from": "2000-01-01", "valid_until": "2009-12-31", "n": 1},
	{"valid_from": "2010-01-01", "valid_until": "2019-12-31", "n": 2},
	{"valid_from": "2020-01-01", "valid_until": "2029-12-31", "n": 3},
	{"valid_from": "2030-01-01", "valid_until": null, "n": 4},
]

test_current_picks_the_version_in_force if {
	lib.current(versions).n == 4 with input as {"time": "2031-05-01T00:00:00Z"}
	lib.current(versions).n == 3 with input as {"time": "2026-05-01T00:00:00Z"}
	lib.current(versions).n == 2 with input as {"time": "2010-01-01T00:00:00Z"}
	lib.current(versions).n == 1 with input as {"time": "2009-12-31T00:00:00Z"}
}

test_current_undefined_before_the_first_version if {
	not lib.current(versions) with input as {"time": "1999-12-31T00:00:00Z"}
}

test_current_undefined_after_a_closed_last_version if {
	closed := array.slice(versions, 0, 3)
	not lib.current(closed) with input as {"time": "2030-01-01T00:00:00Z"}
}

# --- jurisdiction groups -------------------------------------------------------

test_eu_members_today if {
	eu := lib.members("EU") with input as {"time": fx.now}
	count(eu) == 34 # 27 member states + AX GF GP MQ RE YT MF
	eu.GR
	eu.RE
	not eu.GB
	not eu.NO
	not eu.CH
}

test_eea_is_eu_plus_is_li_no if {
	eea := lib.eea with input as {"time": fx.now}
	eu := lib.members("EU") with input as {"time": fx.now}
	object.keys(eea) == object.keys(eu) | {"IS", "LI", "NO"}
}

test_efta_today if {
	object.keys(lib.members("EFTA")) == {"CH", "IS", "LI", "NO"} with input as {"time": fx.now}
}

test_gb_left_the_eu_on_31_january_2020 if {
	lib.members("EU").GB with input as {"time": "2020-01-31T12:00:00Z"}
	not lib.members("EU").GB with input as {"time": "2020-02-01T00:00:00Z"}
}

test_hr_joined_the_eu_on_1_july_2013 if {
	not lib.members("EU").HR with input as {"time": "2013-06-30T12:00:00Z"}
	lib.members("EU").HR with input as {"time": "2013-07-01T00:00:00Z"}
}

test_members_of_unknown_group_is_empty if {
	lib.members("EUROPE") == {} with input as {"time": fx.now}
}

test_members_before_a_group_existed_is_empty if {
	lib.members("EEA") == {} with input as {"time": "1993-12-31T00:00:00Z"}
}

test_expand_mixes_countries_and_groups if {
	js := lib.expand(["EFTA", "JP"]) with input as {"time": fx.now}
	js == {"CH", "IS", "LI", "NO", "JP"}
}

test_within if {
	lib.within("DE", ["EU"]) with input as {"time": fx.now}
	lib.within("JP", ["EU", "JP"]) with input as {"time": fx.now}
	not lib.within("NO", ["EU"]) with input as {"time": fx.now}
	not lib.within("DE", ["EUROPE"]) with input as {"time": fx.now}
}

# --- sites ---------------------------------------------------------------------

test_targets_of_a_placement_skip_unknown_and_incomplete_sites if {
	ts := lib.targets with input as fx.placement_input(["public"], ["de-1", "nope", "no-country"], fx.now)
		with data.inventory as fx.inventory
	object.keys(ts) == {"de-1"}
}

test_targets_of_a_transfer_is_the_destination if {
	ts := lib.targets with input as fx.transfer_input(["public"], "de-1", "in-1", {})
		with data.inventory as fx.inventory
	object.keys(ts) == {"in-1"}
}

test_stores if {
	lib.stores with input as {"kind": "placement"}
	lib.stores with input as {"kind": "transfer", "type": "replicate"}
	lib.stores with input as {"kind": "transfer"}
	not lib.stores with input as {"kind": "transfer", "type": "remote-access"}
}

test_sector_defaults_to_commercial if {
	lib.sector({}) == "unstated"
	lib.sector({"labels": {"sovereign-engine.io/operator-sector": "public"}}) == "public"
}

test_dataset_id if {
	lib.dataset_id({"id": "x"}) == "x"
	lib.dataset_id({}) == "(unnamed dataset)"
}

test_join_sorts if {
	lib.join({"FR", "DE"}) == "DE, FR"
}
