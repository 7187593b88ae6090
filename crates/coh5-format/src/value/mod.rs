//! Element values: conversion of stored bytes to canonical forms.

pub mod canonical;
pub mod heap_ids;
