//! E-mails: `render` turns an alert into subject, text and HTML (pure);
//! `mail` is the only module that speaks SMTP.

mod labels;
pub mod mail;
pub mod render;
