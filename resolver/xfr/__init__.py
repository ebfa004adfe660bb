"""fraudwall as an RPZ primary: each list served as a Response Policy Zone by zone transfer."""
