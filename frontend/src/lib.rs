//! The browser entry point: hydrates the server-rendered page.

// The page's view types nest deeply; debug builds without erased
// components need more than the default 128.
#![recursion_limit = "256"]

// The islands' hydration functions are `app`'s wasm exports; nothing here
// calls them (the island script does), so link the crate explicitly.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Islands: the page is the server's HTML; only the `#[island]`
    // components (the live parts) hydrate, each from its own props.
    leptos::mount::hydrate_islands();
}
